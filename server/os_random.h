#pragma once

#include <cstddef>

namespace server {

// Fills `buf` with `n` bytes from the kernel's random source (getrandom(2)); false when the
// kernel cannot give them. The server's own secrets (DNS cookies, the rate limiter's hash key)
// come from here rather than from OpenSSL: OpenSSL's generator, once started, keeps ~2 MB of
// its library and providers resident in a server that may never sign or verify anything.
bool os_random(void* buf, size_t n);

}  // namespace server
