#include "zone/loader.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include <sys/stat.h>

#include "zone/loader_internal.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"
#include "zone/ldns_util.h"
#include "zone/zonefile_parser.h"

// Last: ldns/common.h #defines bool, true and false.

namespace zone {

namespace {

using loader_internal::Added;
using loader_internal::Options;
using loader_internal::ParserKind;

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using ldns_util::BufferPtr;
using ldns_util::RdfPtr;
using ldns_util::RrPtr;
using FilePtr = std::unique_ptr<FILE, FileClose>;

constexpr int kMaxIncludeDepth = 8;
constexpr size_t kMaxErrors = 50;
constexpr uint32_t kDefaultTtl = 3600;

// Is there an SOA at the apex? Checked before the zone is built, so that its absence is
// reported at a line of the file: the first record (a zone file starts with its SOA).
class ApexSoa {
 public:
  explicit ApexSoa(NameView origin) : origin_(wire::lowered(origin)) {}
  void add(NameView owner, uint16_t type, const SourceLine& where) {
    if (!first_) first_ = where;
    if (type == wire::rrtype::SOA && !found_ && wire::lowered(owner) == origin_) found_ = true;
  }
  void check(const std::string& label, std::vector<ZoneError>& errors) const {
    if (found_) return;
    std::string apex = wire::name_to_text(origin_);
    if (first_)
      errors.push_back({*first_, "no SOA record at the zone apex " + apex +
                                     " (a zone file starts with the SOA of its zone; its first "
                                     "record is here)"});
    else
      errors.push_back({SourceLine{label, 1}, "no SOA record at the zone apex " + apex +
                                                  ": the zone file has no records"});
  }

 private:
  std::string origin_;
  bool found_ = false;
  std::optional<SourceLine> first_;
};

// Where records go when parsed on the loading thread: ZoneBuilder::add, plus the spans and
// the test trace when asked for.
class Adder final : public zonefile::Sink {
 public:
  Adder(ZoneBuilder& b, const Options& o, SignatureCheck& sigs, ApexSoa& soa)
      : builder_(b), spans_(o.spans), trace_(o.trace), sigs_(sigs), soa_(soa) {}
  void file(uint32_t index, const std::string& name) override {
    if (files_.size() <= index) files_.resize(index + 1);
    files_[index] = SourceLine{name, 0};
  }
  void record(const zonefile::Record& r) override {
    if (spans_)
      spans_->push_back(RecordSpan{wire::lowered(r.owner), r.type, r.ttl, std::string(r.rdata),
                                   files_[r.file].file, r.first_line, r.last_line,
                                   r.explicit_owner});
    SourceLine& where = files_[r.file];
    where.line = r.first_line;
    builder_.add(r.owner, r.type, r.ttl, r.rdata, where);
    if (r.type == wire::rrtype::RRSIG) sigs_.add(r.owner, r.rdata, where);
    soa_.add(r.owner, r.type, where);
    if (trace_)
      trace_->push_back(Added{std::string(r.owner), r.type, r.ttl, std::string(r.rdata), where});
  }

 private:
  ZoneBuilder& builder_;
  std::vector<RecordSpan>* spans_;
  std::vector<Added>* trace_;
  SignatureCheck& sigs_;
  ApexSoa& soa_;
  std::vector<SourceLine> files_;
};

// fopen for reading, but a directory is an error (EISDIR) rather than a stream that never
// reaches its end (reading fails, feof stays false: the loop below would never stop).
FILE* open_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  struct stat st;
  if (f && ::fstat(::fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    errno = EISDIR;
    return nullptr;
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// The reference: every line through ldns_rr_new_frm_fp_l (ParserKind::ldns). This is how
// zoned read zone files before the direct parser; zonefile_parser.cpp follows it step by step.
class LdnsParser {
 public:
  LdnsParser(zonefile::Sink& sink, std::vector<ZoneError>& errors)
      : sink_(sink), errors_(errors) {}

  // Parses one stream. origin and ttl are the stream's starting state; $ORIGIN inside does
  // not leak out to the includer (RFC 1035 5.1).
  void parse(FILE* fp, const std::string& file, ldns_rdf* origin, uint32_t ttl, int depth) {
    uint32_t file_id = next_file_++;
    sink_.file(file_id, file);
    ldns_rdf* origin_raw = origin ? ldns_rdf_clone(origin) : nullptr;
    ldns_rdf* prev = nullptr;
    int line = 0;
    uint32_t default_ttl = ttl;
    while (!std::feof(fp) && errors_.size() < kMaxErrors) {
      line += skip_blank_lines(fp);
      if (std::feof(fp)) break;
      long before = std::ftell(fp);
      int start_line = line + 1;
      bool explicit_owner = true;
      if (before >= 0) {
        int c = std::getc(fp);
        explicit_owner = !(c == ' ' || c == '\t');
        std::fseek(fp, before, SEEK_SET);
      }
      ldns_rr* raw = nullptr;
      ldns_status s = ldns_rr_new_frm_fp_l(&raw, fp, &default_ttl, &origin_raw, &prev, &line);
      RrPtr rr(raw);
      SourceLine where{file, start_line};
      switch (s) {
        case LDNS_STATUS_OK: {
          // Numbers ldns cut to their field's size are errors, as in the direct parser.
          std::string e = zonefile::number_out_of_range(
              record_text(fp, before), static_cast<uint16_t>(ldns_rr_get_type(rr.get())));
          if (!e.empty())
            errors_.push_back({where, std::move(e)});
          else
            add(rr.get(), where, file_id, std::max(start_line, line), explicit_owner);
          break;
        }
        case LDNS_STATUS_SYNTAX_EMPTY:
        case LDNS_STATUS_SYNTAX_TTL:
        case LDNS_STATUS_SYNTAX_ORIGIN:
          break;
        case LDNS_STATUS_SYNTAX_INCLUDE:
          include(fp, before, file, where, origin_raw, default_ttl, depth);
          break;
        default:
          errors_.push_back(
              {where, zonefile::explain_error(record_text(fp, before), ldns_get_errorstr_by_id(s))});
      }
    }
    if (origin_raw) ldns_rdf_deep_free(origin_raw);
    if (prev) ldns_rdf_deep_free(prev);
  }

 private:
  // ldns reads comment-only lines together with the record after them, so the line it
  // started on would not be the record's line. Skip (and count) blank and comment-only lines
  // here, leaving the stream at the start of the next line with content.
  static int skip_blank_lines(FILE* fp) {
    int skipped = 0;
    for (;;) {
      long start = std::ftell(fp);
      int c;
      do c = std::getc(fp);
      while (c == ' ' || c == '\t' || c == '\r');
      if (c == ';')
        while (c != '\n' && c != EOF) c = std::getc(fp);
      if (c == '\n') {
        ++skipped;
        continue;
      }
      if (c != EOF && start >= 0) std::fseek(fp, start, SEEK_SET);
      return skipped;
    }
  }

  // The logical line ldns just read (from `before` to where the stream is now); the stream
  // stays where it is.
  static std::string record_text(FILE* fp, long before) {
    long after = std::ftell(fp);
    if (before < 0 || after <= before || std::fseek(fp, before, SEEK_SET) != 0) return {};
    std::string chunk(static_cast<size_t>(after - before), '\0');
    chunk.resize(std::fread(chunk.data(), 1, chunk.size(), fp));
    std::fseek(fp, after, SEEK_SET);
    return zonefile::logical_line(chunk);
  }

  void add(ldns_rr* rr, const SourceLine& where, uint32_t file_id, int last_line,
           bool explicit_owner) {
    BufferPtr buf(ldns_buffer_new(256));
    zonefile::Record r;
    if (const char* err = ldns_util::to_record(rr, buf.get(), r)) {
      errors_.push_back({where, err});
      return;
    }
    r.file = file_id;
    r.first_line = where.line;
    r.last_line = last_line;
    r.explicit_owner = explicit_owner;
    sink_.record(r);
  }

  // ldns reports $INCLUDE but drops its argument: re-read the directive line ourselves.
  void include(FILE* fp, long before, const std::string& file, const SourceLine& where,
               ldns_rdf* origin, uint32_t ttl, int depth) {
    long after = std::ftell(fp);
    std::string directive;
    if (before >= 0 && after > before && std::fseek(fp, before, SEEK_SET) == 0) {
      std::string chunk(static_cast<size_t>(after - before), '\0');
      size_t got = std::fread(chunk.data(), 1, chunk.size(), fp);
      chunk.resize(got);
      std::istringstream in(chunk);
      std::string l;
      while (std::getline(in, l)) {
        size_t p = l.find_first_not_of(" \t");
        if (p != std::string::npos && l.compare(p, 8, "$INCLUDE") == 0) {
          directive = l.substr(p + 8);
          break;
        }
      }
      std::fseek(fp, after, SEEK_SET);
    }
    if (auto c = directive.find(';'); c != std::string::npos) directive.resize(c);
    std::istringstream words(directive);
    std::string path, new_origin;
    words >> path >> new_origin;
    if (path.empty()) {
      errors_.push_back({where, "$INCLUDE without a file name"});
      return;
    }
    if (depth >= kMaxIncludeDepth) {
      errors_.push_back({where, "$INCLUDE nested more than " +
                                    std::to_string(kMaxIncludeDepth) + " deep (a loop?)"});
      return;
    }
    std::filesystem::path p(path);
    if (p.is_relative() && !file.empty() && file.front() != '<')
      p = std::filesystem::path(file).parent_path() / p;
    FilePtr inc(open_file(p.string()));
    if (!inc) {
      errors_.push_back({where, "cannot open $INCLUDE file " + p.string() + ": " +
                                    std::strerror(errno)});
      return;
    }
    RdfPtr o;
    if (!new_origin.empty()) {
      ldns_rdf* rel = nullptr;
      if (ldns_str2rdf_dname(&rel, new_origin.c_str()) != LDNS_STATUS_OK) {
        errors_.push_back({where, "bad origin '" + new_origin + "' in $INCLUDE"});
        return;
      }
      o.reset(rel);
      // ldns_str2rdf_dname always ends the name with the root label, so ask the text.
      if (!ldns_dname_str_absolute(new_origin.c_str()) && origin) {
        ldns_rdf* abs = ldns_dname_cat_clone(o.get(), origin);
        o.reset(abs);
      }
    }
    parse(inc.get(), p.string(), o ? o.get() : origin, ttl, depth + 1);
  }

  zonefile::Sink& sink_;
  std::vector<ZoneError>& errors_;
  uint32_t next_file_ = 0;
};

// ---------------------------------------------------------------------------------------
// The pipeline: the parser runs on its own thread and hands records over in batches; the
// loading thread adds them to the zone as they come, in file order. Record spans (zonectl,
// file edits) are made on the parser thread too, from the same batches, whenever it would
// otherwise wait for the loading thread, and after the last record (while the zone is built).
struct Batch {
  struct Rec {
    uint32_t owner_at, owner_len;
    uint32_t rdata_at, rdata_len;
    uint32_t file;
    int first_line, last_line;
    uint16_t type;
    bool explicit_owner;
    uint32_t ttl;
  };
  std::string bytes;  // owners and RDATA
  std::vector<Rec> recs;
  std::vector<std::pair<uint32_t, std::string>> files;  // new file indexes, before recs
  std::string_view owner(const Rec& r) const { return {bytes.data() + r.owner_at, r.owner_len}; }
  std::string_view rdata(const Rec& r) const { return {bytes.data() + r.rdata_at, r.rdata_len}; }
  void clear() {
    bytes.clear();
    recs.clear();
    files.clear();
  }
};
using BatchPtr = std::shared_ptr<Batch>;

class Pipe {
 public:
  static constexpr size_t kRecords = 4096;  // per batch
  static constexpr size_t kInFlight = 16;   // batches between the threads at most

  BatchPtr take_empty() {
    std::unique_lock lock(mu_);
    if (!free_.empty()) {
      auto b = std::move(free_.back());
      free_.pop_back();
      return b;
    }
    return std::make_shared<Batch>();
  }
  // Queues `b`; false (and `b` not taken) when the queue is full and wait is false.
  bool push(BatchPtr& b, bool wait) {
    std::unique_lock lock(mu_);
    if (!wait && full_.size() >= kInFlight && !abandoned_) return false;
    space_.wait(lock, [&] { return full_.size() < kInFlight || abandoned_; });
    if (!abandoned_) {  // else nobody reads any more
      full_.push_back(std::move(b));
      ready_.notify_one();
    }
    b.reset();
    return true;
  }
  // The reading side gives up (it threw): the writer must not wait for it.
  void abandon() {
    std::unique_lock lock(mu_);
    abandoned_ = true;
    space_.notify_one();
  }
  void close() {
    std::unique_lock lock(mu_);
    closed_ = true;
    ready_.notify_one();
  }
  // nullptr once closed and drained.
  BatchPtr pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    auto b = std::move(full_.front());
    full_.pop_front();
    space_.notify_one();
    return b;
  }
  // A batch the reader is done with, for reuse (unless the writer still holds it).
  void recycle(BatchPtr b) {
    if (b.use_count() != 1) return;
    b->clear();
    std::unique_lock lock(mu_);
    free_.push_back(std::move(b));
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<BatchPtr> full_;
  std::vector<BatchPtr> free_;
  bool closed_ = false;
  bool abandoned_ = false;
};

// Parser side: the records are copied into batches; spans are made from them.
class BatchSink final : public zonefile::Sink {
 public:
  BatchSink(Pipe& pipe, std::vector<RecordSpan>* spans)
      : pipe_(pipe), spans_(spans), cur_(pipe.take_empty()) {}
  void file(uint32_t index, const std::string& name) override {
    if (files_.size() <= index) files_.resize(index + 1);
    files_[index] = name;
    cur_->files.emplace_back(index, name);
  }
  void record(const zonefile::Record& r) override {
    Batch::Rec rec;
    rec.owner_at = static_cast<uint32_t>(cur_->bytes.size());
    rec.owner_len = static_cast<uint32_t>(r.owner.size());
    cur_->bytes.append(r.owner);
    rec.rdata_at = static_cast<uint32_t>(cur_->bytes.size());
    rec.rdata_len = static_cast<uint32_t>(r.rdata.size());
    cur_->bytes.append(r.rdata);
    rec.file = r.file;
    rec.first_line = r.first_line;
    rec.last_line = r.last_line;
    rec.explicit_owner = r.explicit_owner;
    rec.type = r.type;
    rec.ttl = r.ttl;
    cur_->recs.push_back(rec);
    if (cur_->recs.size() >= Pipe::kRecords) flush();
  }
  void flush() {
    if (cur_->recs.empty() && cur_->files.empty()) return;
    if (spans_) unspanned_.push_back(cur_);
    // Rather than wait for the loading thread, make spans.
    while (!pipe_.push(cur_, unspanned_.empty()))
      make_spans();
    cur_ = pipe_.take_empty();
  }
  // After the last record: the loading thread gets the rest, then the spans are finished.
  void close() {
    flush();
    pipe_.close();
  }
  void finish_spans() {
    while (!unspanned_.empty()) make_spans();
  }

 private:
  void make_spans() {
    BatchPtr b = std::move(unspanned_.front());
    unspanned_.pop_front();
    for (const auto& rec : b->recs)
      spans_->push_back(RecordSpan{wire::lowered(b->owner(rec)), rec.type, rec.ttl,
                                   std::string(b->rdata(rec)), files_[rec.file],
                                   rec.first_line, rec.last_line, rec.explicit_owner});
  }

  Pipe& pipe_;
  std::vector<RecordSpan>* spans_;
  std::vector<std::string> files_;
  BatchPtr cur_;
  std::deque<BatchPtr> unspanned_;
};

// Signature warnings come first: they hold even when the zone has errors.
LoadResult finish(ZoneBuilder& builder, LoadResult res, const SignatureCheck& sigs,
                  const ApexSoa& soa, const std::string& label) {
  sigs.report(res.warnings);
  if (res.errors.empty()) soa.check(label, res.errors);
  if (!res.errors.empty()) return res;
  res.zone = builder.build(res.errors, &res.warnings);
  return res;
}

ParserKind resolve(ParserKind k) {
  return k == ParserKind::automatic ? loader_internal::default_parser() : k;
}

// ParserKind::ldns on a stream.
LoadResult load_stream_ldns(FILE* fp, const std::string& label, NameView origin,
                            const Options& opts) {
  LoadResult res;
  ZoneBuilder builder(wire::lowered(origin), label);
  SignatureCheck sigs(opts.signatures);
  ApexSoa soa(origin);
  Adder adder(builder, opts, sigs, soa);
  RdfPtr o(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, origin.size(), origin.data()));
  LdnsParser parser(adder, res.errors);
  parser.parse(fp, label, o.get(), kDefaultTtl, 0);
  return finish(builder, std::move(res), sigs, soa, label);
}

LoadResult load_sequential(std::string_view text, const std::string& label, NameView origin,
                           bool direct, const Options& opts) {
  LoadResult res;
  ZoneBuilder builder(wire::lowered(origin), label);
  builder.reserve_for_text(text.size());
  SignatureCheck sigs(opts.signatures);
  ApexSoa soa(origin);
  Adder adder(builder, opts, sigs, soa);
  zonefile::Parser parser(adder, res.errors, direct);
  parser.parse(text, label, origin);
  if (opts.stats) *opts.stats = parser.stats();
  res.files = parser.files();
  res.stamps = parser.stamps();
  return finish(builder, std::move(res), sigs, soa, label);
}

LoadResult load_pipelined(std::string_view text, const std::string& label, NameView origin,
                          bool direct, const Options& opts) {
  LoadResult res;
  ZoneBuilder builder(wire::lowered(origin), label);
  builder.reserve_for_text(text.size());
  SignatureCheck sigs(opts.signatures);
  ApexSoa soa(origin);
  Pipe pipe;
  // Set before the pipe is closed (parsing failed) or after (making spans failed).
  std::exception_ptr parse_failed, spans_failed;
  std::thread parse_thread;
  try {
    parse_thread = std::thread([&] {
      bool parsed = false;
      try {
        BatchSink sink(pipe, opts.spans);
        zonefile::Parser parser(sink, res.errors, direct);
        parser.parse(text, label, origin);
        if (opts.stats) *opts.stats = parser.stats();
        res.files = parser.files();
        res.stamps = parser.stamps();
        sink.close();
        parsed = true;
        sink.finish_spans();
      } catch (...) {
        (parsed ? spans_failed : parse_failed) = std::current_exception();
        if (!parsed) pipe.close();
      }
    });
  } catch (const std::system_error&) {
    return load_sequential(text, label, origin, direct, opts);  // no thread to be had
  }
  try {
    std::vector<SourceLine> files;
    while (auto b = pipe.pop()) {
      for (const auto& [index, name] : b->files) {
        if (files.size() <= index) files.resize(index + 1);
        files[index] = SourceLine{name, 0};
      }
      for (const Batch::Rec& rec : b->recs) {
        SourceLine& where = files[rec.file];
        where.line = rec.first_line;
        builder.add(b->owner(rec), rec.type, rec.ttl, b->rdata(rec), where);
        if (rec.type == wire::rrtype::RRSIG) sigs.add(b->owner(rec), b->rdata(rec), where);
        soa.add(b->owner(rec), rec.type, where);
        if (opts.trace)
          opts.trace->push_back(Added{std::string(b->owner(rec)), rec.type, rec.ttl,
                                      std::string(b->rdata(rec)), where});
      }
      pipe.recycle(std::move(b));
    }
  } catch (...) {
    pipe.abandon();
    parse_thread.join();
    throw;
  }
  // The pipe is closed: the parser is done with res.errors, maybe not with the spans. Build
  // the zone meanwhile.
  if (parse_failed || !res.errors.empty()) {
    parse_thread.join();
    if (parse_failed) std::rethrow_exception(parse_failed);
    sigs.report(res.warnings);
    return res;
  }
  LoadResult out = finish(builder, std::move(res), sigs, soa, label);
  parse_thread.join();
  if (spans_failed) std::rethrow_exception(spans_failed);
  return out;
}

// ParserKind::fast and ::scanner on text in memory.
LoadResult load_memory(std::string_view text, const std::string& label, NameView origin,
                       ParserKind kind, const Options& opts) {
  bool direct = kind != ParserKind::scanner;
  if (opts.pipeline && text.size() >= opts.pipeline_min_bytes)
    return load_pipelined(text, label, origin, direct, opts);
  return load_sequential(text, label, origin, direct, opts);
}

}  // namespace

namespace loader_internal {

ParserKind default_parser() {
  static const ParserKind k = [] {
    const char* e = std::getenv("ZONED_ZONE_PARSER");
    if (e && std::strcmp(e, "ldns") == 0) return ParserKind::ldns;
    if (e && std::strcmp(e, "scanner") == 0) return ParserKind::scanner;
    return ParserKind::fast;
  }();
  return k;
}

LoadResult load_file(const std::string& path, NameView origin, const Options& opts) {
  ParserKind kind = resolve(opts.parser);
  if (kind == ParserKind::ldns) {
    FilePtr fp(open_file(path));
    if (!fp) {
      LoadResult res;
      res.errors.push_back({SourceLine{path, 0}, std::string("cannot open zone file: ") +
                                                     std::strerror(errno)});
      return res;
    }
    return load_stream_ldns(fp.get(), path, origin, opts);
  }
  std::string text;
  FileStamp stamp;
  if (!zonefile::read_file(path, text, &stamp)) {
    LoadResult res;
    res.errors.push_back({SourceLine{path, 0}, std::string("cannot open zone file: ") +
                                                   std::strerror(errno)});
    return res;
  }
  LoadResult res = load_memory(text, path, origin, kind, opts);
  if (!res.stamps.empty()) res.stamps[0] = stamp;
  return res;
}

LoadResult load_text(std::string_view text, NameView origin, const std::string& label,
                     const Options& opts) {
  ParserKind kind = resolve(opts.parser);
  if (kind == ParserKind::ldns) {
    std::string copy(text);
    FilePtr fp(fmemopen(copy.data(), copy.size(), "r"));
    if (!fp) {
      LoadResult res;
      res.errors.push_back({SourceLine{label, 0}, "cannot read zone text"});
      return res;
    }
    return load_stream_ldns(fp.get(), label, origin, opts);
  }
  return load_memory(text, label, origin, kind, opts);
}

}  // namespace loader_internal

LoadResult load_zone_file(const std::string& path, NameView origin,
                          std::vector<RecordSpan>* spans, const SignatureWindow& signatures) {
  Options o;
  o.spans = spans;
  o.signatures = signatures;
  return loader_internal::load_file(path, origin, o);
}

LoadResult load_zone_text(std::string_view text, NameView origin, const std::string& label,
                          const SignatureWindow& signatures) {
  Options o;
  o.signatures = signatures;
  return loader_internal::load_text(text, origin, label, o);
}

}  // namespace zone
