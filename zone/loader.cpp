#include "zone/loader.h"

#include <ldns/ldns.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "zone/wire/name.h"

namespace zone {

namespace {

struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;
using FilePtr = std::unique_ptr<FILE, FileClose>;

constexpr int kMaxIncludeDepth = 8;
constexpr size_t kMaxErrors = 50;
constexpr uint32_t kDefaultTtl = 3600;

class Parser {
 public:
  Parser(ZoneBuilder& b, std::vector<ZoneError>& errors, std::vector<RecordSpan>* spans)
      : builder_(b), errors_(errors), spans_(spans) {}

  // Parses one stream. origin and ttl are the stream's starting state; $ORIGIN inside does
  // not leak out to the includer (RFC 1035 5.1).
  void parse(FILE* fp, const std::string& file, ldns_rdf* origin, uint32_t ttl, int depth) {
    RdfPtr cur_origin(ldns_rdf_clone(origin));
    ldns_rdf* origin_raw = cur_origin.release();
    ldns_rdf* prev = nullptr;
    int line = 0;
    uint32_t default_ttl = ttl;
    while (!std::feof(fp) && errors_.size() < kMaxErrors) {
      line += skip_blank_lines(fp);
      if (std::feof(fp)) break;
      long before = std::ftell(fp);
      int start_line = line + 1;
      bool explicit_owner = true;
      if (spans_ && before >= 0) {
        int c = std::getc(fp);
        explicit_owner = !(c == ' ' || c == '\t');
        std::fseek(fp, before, SEEK_SET);
      }
      ldns_rr* raw = nullptr;
      ldns_status s = ldns_rr_new_frm_fp_l(&raw, fp, &default_ttl, &origin_raw, &prev, &line);
      RrPtr rr(raw);
      SourceLine where{file, start_line};
      switch (s) {
        case LDNS_STATUS_OK:
          add(rr.get(), where);
          if (spans_ && !spans_->empty() && spans_->back().first_line == -1) {
            spans_->back().first_line = start_line;
            spans_->back().last_line = std::max(start_line, line);
            spans_->back().explicit_owner = explicit_owner;
          }
          break;
        case LDNS_STATUS_SYNTAX_EMPTY:
        case LDNS_STATUS_SYNTAX_TTL:
        case LDNS_STATUS_SYNTAX_ORIGIN:
          break;
        case LDNS_STATUS_SYNTAX_INCLUDE:
          include(fp, before, file, where, origin_raw, default_ttl, depth);
          break;
        default:
          errors_.push_back({where, ldns_get_errorstr_by_id(s)});
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

  void add(ldns_rr* rr, const SourceLine& where) {
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
      errors_.push_back({where, "only class IN is served"});
      return;
    }
    const ldns_rdf* owner = ldns_rr_owner(rr);
    std::string_view owner_wire(reinterpret_cast<const char*>(ldns_rdf_data(owner)),
                                ldns_rdf_size(owner));
    BufferPtr buf(ldns_buffer_new(256));
    if (ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK) {
      errors_.push_back({where, "cannot encode RDATA"});
      return;
    }
    size_t n = ldns_buffer_position(buf.get());
    if (n > 65535) {
      errors_.push_back({where, "RDATA longer than 65535 bytes"});
      return;
    }
    std::string_view rdata(reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())), n);
    uint16_t type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    builder_.add(owner_wire, type, ldns_rr_ttl(rr), rdata, where);
    if (spans_)
      spans_->push_back(RecordSpan{wire::lowered(owner_wire), type, ldns_rr_ttl(rr),
                                   std::string(rdata), where.file, -1, -1, true});
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
    FilePtr inc(std::fopen(p.c_str(), "r"));
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

  ZoneBuilder& builder_;
  std::vector<ZoneError>& errors_;
  std::vector<RecordSpan>* spans_;
};

LoadResult load_stream(FILE* fp, const std::string& label, NameView origin,
                       std::vector<RecordSpan>* spans = nullptr) {
  LoadResult res;
  ZoneBuilder builder(wire::lowered(origin), label);
  RdfPtr o(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, origin.size(), origin.data()));
  Parser parser(builder, res.errors, spans);
  parser.parse(fp, label, o.get(), kDefaultTtl, 0);
  if (!res.errors.empty()) return res;
  res.zone = builder.build(res.errors, &res.warnings);
  return res;
}

}  // namespace

LoadResult load_zone_file(const std::string& path, NameView origin,
                          std::vector<RecordSpan>* spans) {
  FilePtr fp(std::fopen(path.c_str(), "r"));
  if (!fp) {
    LoadResult res;
    res.errors.push_back({SourceLine{path, 0}, std::string("cannot open zone file: ") +
                                                   std::strerror(errno)});
    return res;
  }
  return load_stream(fp.get(), path, origin, spans);
}

LoadResult load_zone_text(std::string_view text, NameView origin, const std::string& label) {
  std::string copy(text);
  FilePtr fp(fmemopen(copy.data(), copy.size(), "r"));
  if (!fp) {
    LoadResult res;
    res.errors.push_back({SourceLine{label, 0}, "cannot read zone text"});
    return res;
  }
  return load_stream(fp.get(), label, origin);
}

}  // namespace zone
