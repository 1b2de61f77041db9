"""`dnsviz grok` as the command line runs it. dnsviz 0.9.4 on Debian 12 looks for
pygraphviz.release, which pygraphviz 1.7 no longer has (grok then stops with "pygraphviz is
required, but not installed"): give it one first. Arguments as for `dnsviz grok`."""
import sys
import types

import pygraphviz

release = types.ModuleType("pygraphviz.release")
release.version = pygraphviz.__version__
sys.modules["pygraphviz.release"] = release
pygraphviz.release = release

from dnsviz.commands import grok  # noqa: E402

grok.main(["grok"] + sys.argv[1:])
