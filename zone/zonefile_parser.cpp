#include "zone/zonefile_parser.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "zone/wire/types.h"

// Last: ldns/common.h #defines bool, true and false.
#include "zone/ldns_util.h"

namespace zone::zonefile {

namespace {

constexpr int kMaxIncludeDepth = 8;
constexpr size_t kMaxErrors = 50;
constexpr uint32_t kDefaultTtl = 3600;  // LDNS_DEFAULT_TTL, and the loader's starting $TTL
constexpr size_t kMaxDomainLen = 255;   // LDNS_MAX_DOMAINLEN
constexpr size_t kMaxLabelLen = 63;     // LDNS_MAX_LABELLEN

// The C locale's character classes, as ldns sees them (isspace, isdigit).
inline bool c_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
inline bool c_digit(int c) { return c >= '0' && c <= '9'; }
inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}
// s[i] of a C string that holds `s`: NUL past the end. (Lines and tokens never hold a NUL:
// the scanner drops them, as ldns does.)
inline unsigned char at(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

using Table = std::array<bool, 256>;
constexpr Table make_table(std::string_view chars) {
  Table t{};
  for (char c : chars) t[static_cast<unsigned char>(c)] = true;
  return t;
}
using namespace std::string_view_literals;
// What the line scanner has to look at one by one; any other byte is just part of the line.
constexpr Table kScanSpecial = make_table("\0\n\r\f\v();\"\\"sv);
// The same for ldns_bget_token with blank delimiters, with none, and inside quotes.
constexpr Table kTokenSpecial = make_table("\n\r();\"\\ \t"sv);
constexpr Table kRestSpecial = make_table("\n\r();\"\\"sv);
constexpr Table kQuotedSpecial = make_table("\n\r\"\\"sv);

// ---------------------------------------------------------------------------------------
// Text in memory read like a FILE* (getc/ungetc/feof), for the ports of ldns's readers.
struct Cursor {
  const unsigned char* data;
  size_t size;
  size_t pos = 0;
  bool eof = false;
  explicit Cursor(std::string_view t)
      : data(reinterpret_cast<const unsigned char*>(t.data())), size(t.size()) {}
  int get() {
    if (pos < size) return data[pos++];
    eof = true;
    return EOF;
  }
  void unget() { --pos; }
};

// The loader's skip_blank_lines (loader.cpp, ldns path): skips and counts lines that hold
// only blanks and a comment, leaving the cursor at the start of the next line with content
// (or at the end, eof set).
int skip_blank_lines(Cursor& f) {
  int skipped = 0;
  for (;;) {
    size_t start = f.pos;
    int c;
    do c = f.get();
    while (c == ' ' || c == '\t' || c == '\r');
    if (c == ';')
      while (c != '\n' && c != EOF) c = f.get();
    if (c == '\n') {
      ++skipped;
      continue;
    }
    if (c != EOF) f.pos = start;
    return skipped;
  }
}

inline bool skip_space_delim(int c) { return c == '\f' || c == '\n' || c == '\r' || c == '\v'; }

// ldns_fskipcs_l(f, LDNS_PARSE_SKIP_SPACE, line_nr)
void fskipcs(Cursor& f, int& line_nr) {
  int c;
  while ((c = f.get()) != EOF) {
    if (c == '\n') ++line_nr;
    if (!skip_space_delim(c)) {
      f.unget();
      break;
    }
  }
}

// ldns_fget_token_l_st(f, &line, &limit, false, LDNS_PARSE_SKIP_SPACE, &line_nr): one
// logical line. Unescaped, unquoted parentheses are dropped (newlines inside them become
// spaces), comments are dropped, '\r' becomes a space, NUL bytes vanish. Returns false for
// LDNS_STATUS_SYNTAX_EMPTY (nothing read), true for LDNS_STATUS_OK, with the line in `out`:
// a view of the text itself when it is plain, else of `scratch`.
bool fget_line(Cursor& f, std::string& scratch, int& line_nr, std::string_view& out) {
  // Most lines: plain characters up to the newline.
  size_t start = f.pos, j = start;
  while (j < f.size && !kScanSpecial[f.data[j]]) ++j;
  if (j > start && (j == f.size || f.data[j] == '\n')) {
    out = std::string_view(reinterpret_cast<const char*>(f.data) + start, j - start);
    if (j == f.size) {
      f.pos = j;
      f.eof = true;
      return true;
    }
    f.pos = j + 1;
    ++line_nr;
    fskipcs(f, line_nr);
    return true;
  }
  std::string& t = scratch;
  int p = 0;  // open parentheses
  size_t i = 0;
  int com = 0, quoted = 0;
  int prev_c = 0;
  int c;
  t.clear();
  while ((c = f.get()) != EOF) {
    if (c == '\r') c = ' ';
    if (c == '(' && prev_c != '\\' && !quoted) {
      if (com == 0) p++;
      prev_c = c;
      continue;
    }
    if (c == ')' && prev_c != '\\' && !quoted) {
      if (com == 0) p--;
      prev_c = c;
      continue;
    }
    if (p < 0) {  // more ) than (: the line ends, this character is lost
      out = t;
      return i != 0;
    }
    if (c == ';' && quoted == 0) {
      if (prev_c != '\\') com = 1;
    }
    if (c == '"' && com == 0 && prev_c != '\\') quoted = 1 - quoted;
    if (c == '\n' && com != 0) {
      com = 0;
      ++line_nr;
      if (p == 0 && i > 0) goto tokenread;
      prev_c = c;
      continue;
    }
    if (com == 1) {
      prev_c = c;
      continue;
    }
    if (c == '\n' && p != 0 && !t.empty()) {
      ++line_nr;
      t.push_back(' ');
      prev_c = c;
      continue;
    }
    if (skip_space_delim(c) && i > 0 && prev_c != '\\' && p == 0) {
      if (c == '\n') ++line_nr;
      goto tokenread;
    }
    if (c != '\0' && c != '\n') {
      ++i;
      t.push_back(static_cast<char>(c));
    }
    if (c == '\n') ++line_nr;
    if (c == '\\' && prev_c == '\\')
      prev_c = 0;
    else
      prev_c = c;
  }
  out = t;
  return i != 0;
tokenread:
  fskipcs(f, line_nr);
  out = t;
  return i != 0;  // p is 0 here
}

// ldns_strip_ws: `line` without its leading spaces (returned) and trailing ones (cut off
// `line` itself, as ldns does; but not from what is left of up to two characters, nor an
// escaped one).
std::string_view strip_ws(std::string_view& line, size_t from) {
  size_t s = from;
  while (s < line.size() && c_space(static_cast<unsigned char>(line[s]))) ++s;
  size_t e = line.size();
  while (e > s + 2 && c_space(static_cast<unsigned char>(line[e - 1])) && line[e - 2] != '\\')
    --e;
  line = line.substr(0, e);
  return line.substr(std::min(s, e));
}

// ldns_str2period: "1h30m" and friends. Stops at the first character it does not know;
// `end` is where.
uint32_t str2period(std::string_view s, size_t& end) {
  int sign = 0;
  uint32_t i = 0;
  uint32_t seconds = 0;
  for (end = 0; end < s.size(); end++) {
    switch (s[end]) {
      case ' ':
      case '\t':
        break;
      case '-':
        if (sign == 0)
          sign = -1;
        else
          return seconds;
        break;
      case '+':
        if (sign == 0)
          sign = 1;
        else
          return seconds;
        break;
      case 's':
      case 'S':
        seconds += i;
        i = 0;
        break;
      case 'm':
      case 'M':
        seconds += i * 60;
        i = 0;
        break;
      case 'h':
      case 'H':
        seconds += i * 60 * 60;
        i = 0;
        break;
      case 'd':
      case 'D':
        seconds += i * 60 * 60 * 24;
        i = 0;
        break;
      case 'w':
      case 'W':
        seconds += i * 60 * 60 * 24 * 7;
        i = 0;
        break;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        i *= 10;
        i += static_cast<uint32_t>(s[end] - '0');
        break;
      default:
        seconds += i;
        return seconds;
    }
  }
  seconds += i;
  return seconds;
}

// parse_escape of str2host.c: "\DDD" or "\X"; `i` is just after the backslash.
bool parse_escape(std::string_view s, size_t& i, uint8_t* ch) {
  if (c_digit(at(s, i)) && c_digit(at(s, i + 1)) && c_digit(at(s, i + 2))) {
    unsigned val = (at(s, i) - '0') * 100u + (at(s, i + 1) - '0') * 10u + (at(s, i + 2) - '0');
    if (val > 255) return false;
    *ch = static_cast<uint8_t>(val);
    i += 3;
    return true;
  }
  if (at(s, i) && !c_digit(at(s, i))) {
    *ch = at(s, i++);
    return true;
  }
  return false;
}

// ldns_dname_str_absolute.
bool str_absolute(std::string_view s) {
  size_t n = s.size();
  if (n == 1 && s[0] == '.') return true;
  if (n < 2) return false;
  if (s[n - 1] != '.') return false;
  if (s[n - 2] != '\\') return true;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\') {
      if (at(s, i + 1) && at(s, i + 2) && at(s, i + 3) && c_digit(at(s, i + 1)) &&
          c_digit(at(s, i + 2)) && c_digit(at(s, i + 3)))
        i += 3;
      else if (!at(s, i + 1) || c_digit(at(s, i + 1)))
        return false;
      else
        i++;
    } else if (!at(s, i + 1) && s[i] == '.') {
      return true;
    }
  }
  return false;
}

// ldns_str2rdf_dname: text to wire, appended to `out`; false on any error (the caller then
// lets ldns report it).
bool str2dname(std::string_view str, std::string& out) {
  size_t len = str.size();
  if (len > kMaxDomainLen * 4 || len == 0) return false;
  if (len == 1 && str[0] == '.') {
    out.push_back('\0');
    return true;
  }
  uint8_t buf[kMaxDomainLen + 1];
  uint8_t* q = buf + 1;
  uint8_t* pq = buf;
  unsigned label_len = 0;
  size_t total = 0;
  for (size_t s = 0; s < len; s++, q++) {
    if (q >= buf + kMaxDomainLen) return false;
    *q = 0;
    switch (str[s]) {
      case '.':
        if (label_len > kMaxLabelLen || label_len == 0) return false;
        total += label_len + 1;
        *pq = static_cast<uint8_t>(label_len);
        label_len = 0;
        pq = q;
        break;
      case '\\':
        s += 1;
        if (!parse_escape(str, s, q)) return false;
        s -= 1;
        label_len++;
        break;
      default:
        *q = static_cast<uint8_t>(str[s]);
        label_len++;
    }
  }
  if (!str_absolute(str)) {
    if (q >= buf + kMaxDomainLen) return false;
    if (label_len > kMaxLabelLen || label_len == 0) return false;
    total += label_len + 1;
    *pq = static_cast<uint8_t>(label_len);
    *q = 0;
  }
  total++;
  out.append(reinterpret_cast<const char*>(buf), total);
  return true;
}

// ldns_dname_cat(name, origin) for the name at out[name_start..], which ends in the root
// label (as every name of str2dname does): the name without its root, then the origin.
// Names of more than 255 bytes are left to ldns (which makes them).
bool cat_origin(std::string& out, size_t name_start, std::string_view origin) {
  out.pop_back();
  out.append(origin);
  return out.size() - name_start <= kMaxDomainLen;
}

// ldns_str2rdf_str: one <character-string>, escapes decoded, at most 255 bytes.
bool str2str(std::string_view s, std::string& out) {
  size_t len_at = out.size();
  out.push_back('\0');
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    uint8_t ch;
    if (s[i] == '\\') {
      ++i;
      if (!parse_escape(s, i, &ch)) return false;
    } else {
      ch = static_cast<uint8_t>(s[i++]);
    }
    if (n >= 255) return false;
    out.push_back(static_cast<char>(ch));
    ++n;
  }
  out[len_at] = static_cast<char>(n);
  return true;
}

// ldns_bget_token on a line, for the direct parser: the same token (a view of the line: ldns
// copies the characters unchanged) and the same position afterwards. Where ldns would see a
// parenthesis or a comment, or hit a length limit, the direct parser gives up (kBail) and
// leaves the line to ldns. -1: nothing left to read.
enum class Delim { blank /* "\t\n " */, none /* "\0" */, quote /* "\"\0" */ };
constexpr long kBail = -2;

long bget_token(std::string_view s, size_t& pos, Delim d, size_t limit, std::string_view& tok) {
  size_t start = pos;
  bool lc_backslash = false;  // ldns's lc == '\\'
  bool quoted = d == Delim::quote;
  const size_t n = s.size();
  const Table& special = d == Delim::blank ? kTokenSpecial
                         : d == Delim::none  ? kRestSpecial
                                             : kQuotedSpecial;
  while (pos < n) {
    // A run of characters that need no thought.
    while (pos < n && !special[static_cast<unsigned char>(s[pos])]) {
      ++pos;
      lc_backslash = false;
    }
    if (pos >= n) break;
    int c = static_cast<unsigned char>(s[pos++]);
    if (c == '\r' || c == '\n') return kBail;  // not in a line the scanner made
    if ((c == '(' || c == ')') && !lc_backslash && !quoted) return kBail;
    if (c == ';' && !quoted && !lc_backslash) return kBail;
    if (c == '"' && !lc_backslash) quoted = !quoted;
    bool delim = d == Delim::blank ? (c == '\t' || c == ' ') : d == Delim::quote ? c == '"' : false;
    if (delim && !lc_backslash) {
      tok = s.substr(start, pos - 1 - start);
      if (d == Delim::blank)  // ldns_bskipcs(b, del); after a quote nothing is skipped
        while (pos < n && (s[pos] == '\t' || s[pos] == ' ')) ++pos;
      if (limit > 0 && tok.size() >= limit) return kBail;
      return static_cast<long>(tok.size());
    }
    lc_backslash = c == '\\' && !lc_backslash;
  }
  tok = s.substr(start, pos - start);
  if (limit > 0 && tok.size() >= limit) return kBail;
  if (tok.empty()) return -1;
  return static_cast<long>(tok.size());
}

// ldns_b64_pton (ldns's compat/b64_pton.c, the one libldns ships) as ldns_str2rdf_b64 calls
// it: appends the decoded bytes; false where it returns -1.
bool b64_pton(std::string_view s, std::string& out) {
  static constexpr auto kValue = [] {
    std::array<int8_t, 256> v{};
    v.fill(-1);
    const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(b64[i])] = static_cast<int8_t>(i);
    return v;
  }();
  const size_t base = out.size();
  if (s.empty()) return true;
  int state = 0;
  size_t i = 0;
  int ch = 0;
  uint8_t cur = 0;  // target[tarindex], the byte being filled
  auto next = [&] { return i < s.size() ? static_cast<unsigned char>(s[i++]) : 0; };
  while ((ch = next()) != 0) {
    if (c_space(ch)) continue;
    if (ch == '=') break;
    int v = kValue[static_cast<size_t>(ch)];
    if (v < 0) return false;
    switch (state) {
      case 0:
        cur = static_cast<uint8_t>(v << 2);
        state = 1;
        break;
      case 1:
        out.push_back(static_cast<char>(cur | (v >> 4)));
        cur = static_cast<uint8_t>((v & 0x0f) << 4);
        state = 2;
        break;
      case 2:
        out.push_back(static_cast<char>(cur | (v >> 2)));
        cur = static_cast<uint8_t>((v & 0x03) << 6);
        state = 3;
        break;
      case 3:
        out.push_back(static_cast<char>(cur | v));
        cur = 0;
        state = 0;
        break;
    }
  }
  if (ch == '=') {
    ch = next();
    switch (state) {
      case 0:
      case 1:
        return false;
      case 2:
        for (; ch != 0; ch = next())
          if (!c_space(ch)) break;
        if (ch != '=') return false;
        ch = next();
        [[fallthrough]];
      case 3:
        for (; ch != 0; ch = next())
          if (!c_space(ch)) return false;
        if (cur != 0) return false;  // bits past the last full byte must be zero
    }
  } else if (state != 0) {
    return false;
  }
  (void)base;
  return true;
}

// ldns_str2rdf_b64.
bool str2b64(std::string_view s, std::string& out) {
  if (s.size() == 1 && (s[0] == '-' || s[0] == '0')) return true;  // empty
  size_t start = out.size();
  if (!b64_pton(s, out)) {
    out.resize(start);
    return false;
  }
  return true;
}

inline int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ldns_str2rdf_hex: hex digits, blanks anywhere (an odd digit out is a high nibble).
bool str2hex(std::string_view s, std::string& out) {
  if (s.size() > 65535 * 2) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (c_space(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    uint8_t t = 0;
    for (int mult = 16; mult >= 1; mult -= 15) {
      while (i < s.size() && c_space(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size()) {
        int v = hex_value(static_cast<unsigned char>(s[i]));
        if (v < 0) return false;
        t = static_cast<uint8_t>(t + v * mult);
        ++i;
      }
    }
    out.push_back(static_cast<char>(t));
  }
  return true;
}

// ldns_str2rdf_time for the usual YYYYMMDDHHmmSS; false for anything else (left to ldns).
bool str2time14(std::string_view s, std::string& out, bool& bad) {
  bad = false;
  if (s.size() != 14) return false;
  for (char c : s)
    if (!c_digit(static_cast<unsigned char>(c))) return false;
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t k = 0; k < n; ++k) v = v * 10 + (s[at + k] - '0');
    return v;
  };
  struct tm tm;
  std::memset(&tm, 0, sizeof tm);
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(8, 2);
  tm.tm_min = num(10, 2);
  tm.tm_sec = num(12, 2);
  if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
      tm.tm_sec > 59) {
    bad = true;  // LDNS_STATUS_INVALID_TIME
    return false;
  }
  uint32_t l = static_cast<uint32_t>(ldns_mktime_from_utc(&tm));
  out.push_back(static_cast<char>(l >> 24));
  out.push_back(static_cast<char>(l >> 16));
  out.push_back(static_cast<char>(l >> 8));
  out.push_back(static_cast<char>(l));
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!c_digit(static_cast<unsigned char>(c))) return false;
  return true;
}

// strtol and inet_pton want C strings.
struct CString {
  char small[96];
  std::string big;
  const char* c_str(std::string_view s) {
    if (s.size() < sizeof small) {
      std::memcpy(small, s.data(), s.size());
      small[s.size()] = '\0';
      return small;
    }
    big.assign(s);
    return big.c_str();
  }
};

// Type names the direct parser knows without asking ldns (ldns_get_rr_type_by_name walks its
// whole table). Checked against ldns by a unit test (KnownTypeNames).
struct TypeName {
  const char* name;
  uint16_t type;
};
constexpr TypeName kTypeNames[] = {
    {"A", 1},       {"NS", 2},      {"CNAME", 5},  {"SOA", 6},     {"PTR", 12},
    {"HINFO", 13},  {"MX", 15},     {"TXT", 16},   {"AAAA", 28},   {"SRV", 33},
    {"NAPTR", 35},  {"DNAME", 39},  {"DS", 43},    {"SSHFP", 44},  {"RRSIG", 46},
    {"NSEC", 47},   {"DNSKEY", 48}, {"NSEC3", 50}, {"NSEC3PARAM", 51},
    {"TLSA", 52},   {"CDS", 59},    {"CDNSKEY", 60}, {"SVCB", 64}, {"HTTPS", 65},
    {"CAA", 257},
};

uint16_t known_type(std::string_view name) {
  switch (name.size()) {  // most records: A, NS, MX, TXT, AAAA
    case 1:
      if (lower(static_cast<unsigned char>(name[0])) == 'a') return 1;
      break;
    case 4:
      if (iequal(name, "AAAA")) return 28;
      break;
  }
  for (const auto& t : kTypeNames)
    if (iequal(name, t.name)) return t.type;
  return 0;
}

// RDATA field kinds that ldns_rr_new_frm_str_internal hands to ldns_rdf_new_frm_str as they
// are (its default branch, and HEX/B64); the direct parser does the same. DNAME, STR and
// the numbers and addresses it converts itself.
bool ldns_converts(ldns_rdf_type t) {
  switch (t) {
    case LDNS_RDF_TYPE_APL:
    case LDNS_RDF_TYPE_B32_EXT:
    case LDNS_RDF_TYPE_B64:
    case LDNS_RDF_TYPE_HEX:
    case LDNS_RDF_TYPE_NSEC:
    case LDNS_RDF_TYPE_TYPE:
    case LDNS_RDF_TYPE_CLASS:
    case LDNS_RDF_TYPE_CERT_ALG:
    case LDNS_RDF_TYPE_ALG:
    case LDNS_RDF_TYPE_TIME:
    case LDNS_RDF_TYPE_LOC:
    case LDNS_RDF_TYPE_WKS:
    case LDNS_RDF_TYPE_NSAP:
    case LDNS_RDF_TYPE_ATMA:
    case LDNS_RDF_TYPE_IPSECKEY:
    case LDNS_RDF_TYPE_NSEC3_SALT:
    case LDNS_RDF_TYPE_NSEC3_NEXT_OWNER:
    case LDNS_RDF_TYPE_ILNP64:
    case LDNS_RDF_TYPE_EUI48:
    case LDNS_RDF_TYPE_EUI64:
    case LDNS_RDF_TYPE_TAG:
    case LDNS_RDF_TYPE_LONG_STR:
    case LDNS_RDF_TYPE_CERTIFICATE_USAGE:
    case LDNS_RDF_TYPE_SELECTOR:
    case LDNS_RDF_TYPE_MATCHING_TYPE:
    case LDNS_RDF_TYPE_AMTRELAY:
    case LDNS_RDF_TYPE_SVCPARAMS:
      return true;
    default:
      return false;
  }
}

void put16(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put32(std::string& out, uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xFFFF);
}

using ldns_util::BufferPtr;
using ldns_util::RdfPtr;
using ldns_util::RrPtr;

RdfPtr dname_rdf(std::string_view wire) {
  return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wire.size(), wire.data()));
}

}  // namespace

// The per-file state of ldns_rr_new_frm_fp_l's callers: origin (none after a bad $ORIGIN),
// default TTL and the previous owner.
struct Parser::State {
  uint32_t file;
  std::optional<std::string> origin;
  uint32_t ttl;
  std::optional<std::string> prev;
};

struct Parser::Scratch {
  std::string owner, rdata;
  CString cstr;
  // Type names ldns was asked about (ldns_get_rr_type_by_name).
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> ldns_types;
  std::vector<ldns_rr_type> types;
};

Parser::Parser(Sink& sink, std::vector<ZoneError>& errors, bool direct)
    : sink_(sink), errors_(errors), direct_(direct), scratch_(new Scratch) {}

Parser::~Parser() { delete scratch_; }

uint32_t Parser::add_file(const std::string& name) {
  files_.push_back(name);
  stamps_.emplace_back();
  uint32_t id = static_cast<uint32_t>(files_.size() - 1);
  sink_.file(id, name);
  return id;
}

void Parser::error(uint32_t file, int line, std::string message) {
  errors_.push_back({SourceLine{files_[file], line}, std::move(message)});
}

void Parser::parse(std::string_view text, const std::string& file, std::string_view origin) {
  uint32_t id = add_file(file);
  parse_text(text, id, std::string(origin), kDefaultTtl, 0);
}

// The loop of the ldns-based loader (LdnsParser::parse in loader.cpp) with
// ldns_rr_new_frm_fp_l (_ldns_rr_new_frm_fp_l_internal) inlined.
void Parser::parse_text(std::string_view text, uint32_t file, std::optional<std::string> origin,
                        uint32_t ttl, int depth) {
  State st{file, std::move(origin), ttl, std::nullopt};
  Cursor f(text);
  int line = 0;
  std::string scratch;  // this file's own: an $INCLUDE below has another
  while (!f.eof && errors_.size() < kMaxErrors) {
    line += skip_blank_lines(f);
    if (f.eof) break;
    size_t before = f.pos;
    int start_line = line + 1;
    bool explicit_owner = !(f.data[before] == ' ' || f.data[before] == '\t');
    std::string_view l;
    if (!fget_line(f, scratch, line, l)) continue;  // LDNS_STATUS_SYNTAX_EMPTY
    if (l.starts_with("$ORIGIN") && c_space(at(l, 7))) {
      st.origin.reset();
      std::string o;
      if (!str2dname(strip_ws(l, 8), o)) {
        error(file, start_line, ldns_get_errorstr_by_id(LDNS_STATUS_SYNTAX_DNAME_ERR));
        continue;
      }
      st.origin = std::move(o);
    } else if (l.starts_with("$TTL") && c_space(at(l, 4))) {
      size_t end;
      st.ttl = str2period(strip_ws(l, 5), end);
    } else if (l.starts_with("$INCLUDE")) {
      include(text.substr(before, f.pos - before), file, start_line, st.origin, st.ttl, depth);
    } else if (strip_ws(l, 0).empty()) {
      continue;  // LDNS_STATUS_SYNTAX_EMPTY
    } else {
      // strip_ws has cut the trailing spaces off `l`, as ldns does before parsing it.
      record_line(st, l, start_line, std::max(start_line, line), explicit_owner);
    }
  }
}

// ldns reports $INCLUDE but not its argument; the ldns-based loader re-read the text of the
// directive. The same here, from `raw`: the text ldns consumed for it.
void Parser::include(std::string_view raw, uint32_t file, int line,
                     const std::optional<std::string>& origin, uint32_t ttl, int depth) {
  std::string directive;
  {
    std::istringstream in{std::string(raw)};
    std::string l;
    while (std::getline(in, l)) {
      size_t p = l.find_first_not_of(" \t");
      if (p != std::string::npos && l.compare(p, 8, "$INCLUDE") == 0) {
        directive = l.substr(p + 8);
        break;
      }
    }
  }
  if (auto c = directive.find(';'); c != std::string::npos) directive.resize(c);
  std::istringstream words(directive);
  std::string path, new_origin;
  words >> path >> new_origin;
  if (path.empty()) {
    error(file, line, "$INCLUDE without a file name");
    return;
  }
  if (depth >= kMaxIncludeDepth) {
    error(file, line,
          "$INCLUDE nested more than " + std::to_string(kMaxIncludeDepth) + " deep (a loop?)");
    return;
  }
  std::filesystem::path p(path);
  const std::string& name = files_[file];
  if (p.is_relative() && !name.empty() && name.front() != '<')
    p = std::filesystem::path(name).parent_path() / p;
  std::string text;
  FileStamp stamp;
  if (!read_file(p.string(), text, &stamp)) {
    error(file, line, "cannot open $INCLUDE file " + p.string() + ": " + std::strerror(errno));
    return;
  }
  std::optional<std::string> o = origin;
  if (!new_origin.empty()) {
    std::string rel;
    if (!str2dname(new_origin, rel)) {
      error(file, line, "bad origin '" + new_origin + "' in $INCLUDE");
      return;
    }
    // ldns_dname_cat_clone: no length limit.
    if (!str_absolute(new_origin) && origin) {
      rel.pop_back();
      rel += *origin;
    }
    o = std::move(rel);
  }
  uint32_t id = add_file(p.string());
  stamps_[id] = stamp;
  parse_text(text, id, std::move(o), ttl, depth + 1);
}

void Parser::record_line(State& st, std::string_view line, int first_line, int last_line,
                         bool explicit_owner) {
  if (direct_ && st.origin) {
    Record r;
    if (direct_record(st, line, r)) {
      r.file = st.file;
      r.first_line = first_line;
      r.last_line = last_line;
      r.explicit_owner = explicit_owner;
      ++stats_.direct;
      sink_.record(r);
      return;
    }
  }
  ++stats_.fallback;
  fallback_record(st, std::string(line), first_line, last_line, explicit_owner);
}

// A token in the TTL or class position that is not a TTL: the class IN (true, type 0), a
// type (true, its number), or something the direct parser leaves to ldns (false).
bool Parser::class_or_type(std::string_view tok, bool& in, uint16_t& type) {
  in = false;
  type = known_type(tok);
  if (type) return true;
  if (iequal(tok, "IN")) {
    in = true;
    return true;
  }
  // ldns_get_rr_class_by_name first: "CH", "ANY" (a type too), "CLASS1" (that is IN, unlike
  // CLASS65537: the number is not cut to 16 bits).
  int cls = static_cast<int>(ldns_get_rr_class_by_name(scratch_->cstr.c_str(tok)));
  if (cls == LDNS_RR_CLASS_IN) {
    in = true;
    return true;
  }
  if (cls != 0) return false;
  return type_of(tok, type);
}

// ldns_get_rr_type_by_name, remembered; false for what the direct parser leaves to ldns:
// TYPEnnn, and names ldns does not know (type 0).
bool Parser::type_of(std::string_view tok, uint16_t& type) {
  type = known_type(tok);
  if (type) return true;
  if (tok.size() > 4 && iequal(tok.substr(0, 4), "TYPE")) return false;
  int t = ldns_type(tok);  // no TYPEnnn here: a number from the table, or 0
  type = static_cast<uint16_t>(t);
  return t != 0;
}

// ldns_get_rr_type_by_name, remembered (TYPEnnn and unknown names included).
int Parser::ldns_type(std::string_view tok) {
  if (uint16_t t = known_type(tok)) return t;
  auto it = scratch_->ldns_types.find(tok);
  if (it == scratch_->ldns_types.end())
    it = scratch_->ldns_types
             .emplace(std::string(tok),
                      static_cast<int>(ldns_get_rr_type_by_name(scratch_->cstr.c_str(tok))))
             .first;
  return it->second;
}

// ldns_str2rdf_nsec: type names (as ldns_bget_token splits them) to the type bitmap.
bool Parser::nsec_bitmap(std::string_view s, std::string& out) {
  std::vector<ldns_rr_type>& types = scratch_->types;
  types.clear();
  size_t pos = 0;
  std::string_view name;
  for (;;) {
    long c = bget_token(s, pos, Delim::blank, 65535, name);
    if (c == kBail) return false;
    if (c == -1 || c == 0) break;
    // Through a uint16_t, as there (TYPE70000 is type 4464).
    types.push_back(static_cast<ldns_rr_type>(static_cast<uint16_t>(ldns_type(name))));
  }
  RdfPtr r(ldns_dnssec_create_nsec_bitmap(types.data(), types.size(), LDNS_RR_TYPE_NSEC));
  if (!r) return false;
  out.append(reinterpret_cast<const char*>(ldns_rdf_data(r.get())), ldns_rdf_size(r.get()));
  return true;
}

// A field ldns converts: ldns_rdf_new_frm_str, as ldns_rr_new_frm_str_internal calls it.
bool Parser::ldns_field(int field_kind, std::string_view tok, std::string& out) {
  auto field = static_cast<ldns_rdf_type>(field_kind);
  if (!ldns_converts(field)) return false;  // HIP and the like
  RdfPtr r(ldns_rdf_new_frm_str(field, scratch_->cstr.c_str(tok)));
  if (!r) return false;
  out.append(reinterpret_cast<const char*>(ldns_rdf_data(r.get())), ldns_rdf_size(r.get()));
  return true;
}

// ldns_rr_new_frm_str_internal, on lines without parentheses or comments left in them, for
// the types whose fields the direct parser can read (nearly all). False: ldns decides (it may
// accept the line, or report an error). Nothing of `st` changes unless the record is
// accepted.
bool Parser::direct_record(State& st, std::string_view line, Record& out) {
  Scratch& sc = *scratch_;
  std::string_view tok;
  size_t pos = 0;
  // Owner.
  std::string& owner = sc.owner;
  owner.clear();
  if (bget_token(line, pos, Delim::blank, kMaxDomainLen, tok) < 0) return false;
  bool owner_at = !tok.empty() && tok[0] == '@';
  bool owner_blank = tok.empty();
  if (!owner_at && !owner_blank) {
    if (!str2dname(tok, owner)) return false;
    if (!str_absolute(tok) && !cat_origin(owner, 0, *st.origin)) return false;
  }
  // TTL, class, type.
  if (bget_token(line, pos, Delim::blank, 21, tok) < 0 || tok.empty()) return false;
  uint32_t ttl;
  uint16_t type = 0;
  bool in;
  if (!c_digit(static_cast<unsigned char>(tok[0]))) {
    ttl = st.ttl == 0 ? kDefaultTtl : st.ttl;
    if (!class_or_type(tok, in, type)) return false;
  } else {
    size_t end;
    ttl = str2period(tok, end);
    if (bget_token(line, pos, Delim::blank, 16, tok) < 0) return false;
    if (!class_or_type(tok, in, type)) return false;
  }
  if (!type) {
    if (bget_token(line, pos, Delim::blank, 16, tok) < 0) return false;
    if (!type_of(tok, type)) return false;
  }
  // RDATA text: the rest of the line, with nothing for ldns's token reader to change.
  std::string_view rd;
  if (bget_token(line, pos, Delim::none, 65535, rd) < 0) return false;

  const ldns_rr_descriptor* desc = ldns_rr_descript(type);
  const unsigned r_min = static_cast<unsigned>(ldns_rr_descriptor_minimum(desc));
  const unsigned r_max = static_cast<uint16_t>(ldns_rr_descriptor_maximum(desc));
  std::string& rdata = sc.rdata;
  rdata.clear();
  size_t rpos = 0;
  unsigned count = 0;
  for (unsigned r_cnt = 0; r_cnt < r_max; r_cnt++) {
    const ldns_rdf_type field = ldns_rr_descriptor_field_type(desc, r_cnt);
    Delim delim = Delim::blank;
    switch (field) {  // these may hold blanks when they are the last field
      case LDNS_RDF_TYPE_B64:
      case LDNS_RDF_TYPE_HEX:
      case LDNS_RDF_TYPE_NSEC:
      case LDNS_RDF_TYPE_LOC:
      case LDNS_RDF_TYPE_WKS:
      case LDNS_RDF_TYPE_IPSECKEY:
      case LDNS_RDF_TYPE_AMTRELAY:
      case LDNS_RDF_TYPE_SVCPARAMS:
        if (r_cnt == r_max - 1) delim = Delim::none;  // ldns: "\n"; a line has none
        break;
      default:
        break;
    }
    bool quoted = false;
    bool maybe_quoted = field == LDNS_RDF_TYPE_STR || field == LDNS_RDF_TYPE_LONG_STR;
    if (maybe_quoted && rpos < rd.size()) {
      while (rpos < rd.size() && (rd[rpos] == ' ' || rd[rpos] == '\t')) ++rpos;
      if (rpos < rd.size() && rd[rpos] == '"') {
        delim = Delim::quote;
        ++rpos;
        quoted = true;
      }
      if (!quoted && field == LDNS_RDF_TYPE_LONG_STR) return false;
    }
    while (rpos < rd.size() && (rd[rpos] == ' ' || rd[rpos] == '\t') && !quoted) ++rpos;
    long c = bget_token(rd, rpos, delim, 65535, tok);
    if (c == kBail) return false;
    if (c == -1) break;
    if (tok.starts_with("\\#") && !quoted && (tok.size() == 2 || tok[2] == ' ' || tok[2] == '\t'))
      return false;  // RFC 3597 generic data
    if (tok.empty() && !quoted) continue;
    // (For a HEX or B64 last field ldns reads on to the end of the line and appends that:
    // nothing, the token already ends there.)
    switch (field) {
      case LDNS_RDF_TYPE_A: {
        unsigned char a[4];
        if (inet_pton(AF_INET, sc.cstr.c_str(tok), a) != 1) return false;
        rdata.append(reinterpret_cast<const char*>(a), 4);
        break;
      }
      case LDNS_RDF_TYPE_AAAA: {
        unsigned char a[16];
        if (inet_pton(AF_INET6, sc.cstr.c_str(tok), a) != 1) return false;
        rdata.append(reinterpret_cast<const char*>(a), 16);
        break;
      }
      // A number that does not fit its field is an error (ldns would cut it: see
      // number_out_of_range), worded by the fallback.
      case LDNS_RDF_TYPE_INT8: {
        char* end = nullptr;
        long v = std::strtol(sc.cstr.c_str(tok), &end, 10);
        if (*end != 0 || v < 0 || v > 0xFF) return false;
        rdata.push_back(static_cast<char>(static_cast<uint8_t>(v)));
        break;
      }
      case LDNS_RDF_TYPE_INT16: {
        char* end = nullptr;
        long v = std::strtol(sc.cstr.c_str(tok), &end, 10);
        if (*end != 0 || v < 0 || v > 0xFFFF) return false;
        put16(rdata, static_cast<uint16_t>(v));
        break;
      }
      case LDNS_RDF_TYPE_INT32: {
        char* end = nullptr;
        const char* s = sc.cstr.c_str(tok);
        errno = 0;
        long long v = std::strtoll(s, &end, 10);
        if (*end != 0 || errno == ERANGE || v < 0 || v > 0xFFFFFFFFLL) return false;
        put32(rdata, static_cast<uint32_t>(v));
        break;
      }
      case LDNS_RDF_TYPE_PERIOD: {
        size_t end;
        uint32_t v = str2period(tok, end);
        if (end != tok.size()) return false;
        put32(rdata, v);
        break;
      }
      case LDNS_RDF_TYPE_DNAME: {
        size_t start = rdata.size();
        if (!str2dname(tok, rdata)) return false;
        if (rdata.size() - start > 1 && rdata[start] == 1 && rdata[start + 1] == '@') {
          rdata.resize(start);
          rdata += *st.origin;
        } else if (!str_absolute(tok)) {
          if (!cat_origin(rdata, start, *st.origin)) return false;
        }
        break;
      }
      case LDNS_RDF_TYPE_STR:
        if (!str2str(tok, rdata)) return false;
        break;
      case LDNS_RDF_TYPE_B64:
        if (!str2b64(tok, rdata)) return false;
        break;
      case LDNS_RDF_TYPE_HEX:
        if (!str2hex(tok, rdata)) return false;
        break;
      case LDNS_RDF_TYPE_TYPE:  // ldns_str2rdf_type: never fails, 0 for a name it does not know
        put16(rdata, static_cast<uint16_t>(ldns_type(tok)));
        break;
      case LDNS_RDF_TYPE_NSEC:
        if (!nsec_bitmap(tok, rdata)) return false;
        break;
      case LDNS_RDF_TYPE_TIME: {
        bool bad;
        if (str2time14(tok, rdata, bad)) break;
        if (bad) return false;
        if (!ldns_field(field, tok, rdata)) return false;
        break;
      }
      case LDNS_RDF_TYPE_ALG:  // a mnemonic or a number: no mnemonic is a number
      case LDNS_RDF_TYPE_CERTIFICATE_USAGE:
      case LDNS_RDF_TYPE_SELECTOR:
      case LDNS_RDF_TYPE_MATCHING_TYPE:
        if (all_digits(tok)) {
          char* end = nullptr;
          long v = std::strtol(sc.cstr.c_str(tok), &end, 10);
          if (v > 0xFF) return false;  // out of range (the fallback says so)
          rdata.push_back(static_cast<char>(static_cast<uint8_t>(v)));
        } else if (!ldns_field(field, tok, rdata)) {
          return false;
        }
        break;
      default:
        if (!ldns_field(field, tok, rdata)) return false;
        break;
    }
    ++count;
  }
  if (rpos < rd.size()) return false;  // LDNS_STATUS_SYNTAX_SUPERFLUOUS_TEXT_ERR
  if (count < r_min) return false;     // LDNS_STATUS_SYNTAX_MISSING_VALUE_ERR
  if (rdata.size() > 65535) return false;

  if (owner_at) {
    st.prev = *st.origin;  // "@" sets it too
  } else if (!owner_blank) {
    if (!st.prev) st.prev.emplace();
    st.prev->swap(owner);
  }
  out.owner = owner_blank && !st.prev ? *st.origin : *st.prev;
  out.type = type;
  out.ttl = ttl;
  out.rdata = rdata;
  return true;
}

// The line through ldns, as the ldns-based loader did it (LdnsParser::add).
void Parser::fallback_record(State& st, const std::string& line, int first_line, int last_line,
                             bool explicit_owner) {
  RdfPtr origin;
  if (st.origin) origin = dname_rdf(*st.origin);
  ldns_rdf* prev = st.prev ? dname_rdf(*st.prev).release() : nullptr;
  ldns_rr* raw = nullptr;
  ldns_status s = ldns_rr_new_frm_str(&raw, line.c_str(), st.ttl, origin.get(), &prev);
  RrPtr rr(raw);
  if (prev) {
    st.prev = std::string(reinterpret_cast<const char*>(ldns_rdf_data(prev)), ldns_rdf_size(prev));
    ldns_rdf_deep_free(prev);
  } else {
    st.prev.reset();
  }
  if (s != LDNS_STATUS_OK) {
    error(st.file, first_line, explain_error(line, ldns_get_errorstr_by_id(s)));
    return;
  }
  if (std::string e = number_out_of_range(line, static_cast<uint16_t>(ldns_rr_get_type(rr.get())));
      !e.empty()) {
    error(st.file, first_line, std::move(e));
    return;
  }
  BufferPtr buf(ldns_buffer_new(256));
  Record r;
  if (const char* err = ldns_util::to_record(rr.get(), buf.get(), r)) {
    error(st.file, first_line, err);
    return;
  }
  r.file = st.file;
  r.first_line = first_line;
  r.last_line = last_line;
  r.explicit_owner = explicit_owner;
  sink_.record(r);
}

bool read_file(const std::string& path, std::string& out, FileStamp* stamp) {
  out.clear();
  if (stamp) *stamp = {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  size_t expect = 0;
  bool regular = false;
  if (::fstat(fd, &st) == 0) {
    if (stamp) *stamp = FileStamp::of(st);
    regular = S_ISREG(st.st_mode);
    if (regular && st.st_size > 0) expect = static_cast<size_t>(st.st_size);
  }
  // Straight into the string; one byte more than expected to see the end without a resize.
  out.resize(expect + 1);
  size_t have = 0;
  for (;;) {
    if (have == out.size()) out.resize(out.size() * 2 + 4096);
    const size_t want = out.size() - have;
    ssize_t n = ::read(fd, out.data() + have, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      out.clear();
      errno = e;
      return false;
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
    // A regular file that gave less than asked, and at least its size: that was its end (no
    // second read to be told so; a file that grew meanwhile has another stamp next time).
    if (regular && static_cast<size_t>(n) < want && have >= expect) break;
  }
  ::close(fd);
  out.resize(have);
  return true;
}

// ---------------------------------------------------------------------------------------
// Error wording.

namespace {

// The fields of a line, split at blanks; a quoted string is one field, a backslash escapes the
// next character.
std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    size_t b = i;
    bool quoted = false;
    while (i < s.size() && (quoted || (s[i] != ' ' && s[i] != '\t'))) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') quoted = !quoted;
      ++i;
    }
    out.push_back(s.substr(b, std::min(i, s.size()) - b));
  }
  return out;
}

// What the operator calls each field of the types written by hand; "" for the rest.
const char* field_name(uint16_t type, size_t i) {
  static const std::unordered_map<uint16_t, std::vector<const char*>> names = {
      {1, {"address"}},
      {28, {"address"}},
      {2, {"nameserver"}},
      {5, {"target"}},
      {12, {"target"}},
      {39, {"target"}},
      {15, {"preference", "exchange"}},
      {33, {"priority", "weight", "port", "target"}},
      {6, {"MNAME (primary nameserver)", "RNAME (mailbox)", "serial", "refresh", "retry", "expire",
           "minimum"}},
      {43, {"key tag", "algorithm", "digest type", "digest"}},
      {59, {"key tag", "algorithm", "digest type", "digest"}},
      {48, {"flags", "protocol", "algorithm", "public key"}},
      {60, {"flags", "protocol", "algorithm", "public key"}},
      {257, {"flags", "tag", "value"}},
      {52, {"usage", "selector", "matching type", "data"}},
      {44, {"algorithm", "fingerprint type", "fingerprint"}},
      {51, {"algorithm", "flags", "iterations", "salt"}},
      {46, {"type covered", "algorithm", "labels", "original TTL", "expiration", "inception",
            "key tag", "signer", "signature"}},
  };
  auto it = names.find(type);
  if (it == names.end() || i >= it->second.size()) return "";
  return it->second[i];
}

std::string type_name(uint16_t type) {
  char* t = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string s = t ? t : "TYPE" + std::to_string(type);
  std::free(t);
  return s;
}

// "MX preference", "SRV field 3".
std::string field_label(uint16_t type, size_t i) {
  const char* n = field_name(type, i);
  return type_name(type) + " " + (*n ? std::string(n) : "field " + std::to_string(i + 1));
}

bool is_class(std::string_view tok) {
  std::string t(tok);
  return ldns_get_rr_class_by_name(t.c_str()) != 0;
}

// owner, TTL, class and type of a record line, as ldns reads them (TTL before class).
struct Head {
  std::string_view owner, ttl, cls, type_tok;
  uint16_t type = 0;
  size_t first_rdata = 0;  // index into the fields
  std::string problem;     // what is wrong with them, if anything
};

Head read_head(std::string_view line, const std::vector<std::string_view>& f) {
  Head h;
  size_t i = 0;
  if (!line.empty() && line[0] != ' ' && line[0] != '\t' && !f.empty()) h.owner = f[i++];
  if (!h.owner.empty() && h.owner != "@") {
    std::string w;
    if (!str2dname(h.owner, w)) h.problem = "'" + std::string(h.owner) + "' is not a valid owner name";
  }
  for (; i < f.size(); ++i) {
    std::string_view t = f[i];
    if (c_digit(static_cast<unsigned char>(t[0]))) {
      if (!h.cls.empty() && h.problem.empty()) {
        // "www IN 300 A": ldns (and so zoned) wants the TTL first.
        std::string fixed = std::string(h.owner.empty() ? "" : h.owner) + (h.owner.empty() ? "" : " ") +
                            std::string(t) + " " + std::string(h.cls);
        for (size_t k = i + 1; k < f.size() && k < i + 3; ++k) fixed += " " + std::string(f[k]);
        h.problem = "'" + std::string(h.cls) + " " + std::string(t) +
                    "': the TTL goes before the class (write '" + fixed + " ...')";
      }
      if (h.ttl.empty()) h.ttl = t;
      continue;
    }
    if (h.cls.empty() && is_class(t)) {
      h.cls = t;
      continue;
    }
    h.type_tok = t;
    std::string tt(t);
    h.type = static_cast<uint16_t>(ldns_get_rr_type_by_name(tt.c_str()));
    h.first_rdata = i + 1;
    if (h.type == 0 && h.problem.empty())
      h.problem = "'" + tt + "' is not a record type" + (h.ttl.empty() && h.cls.empty() ? " (nor a TTL or class)" : "");
    return h;
  }
  if (h.problem.empty()) h.problem = "no record type on the line";
  return h;
}

bool plain_number(std::string_view t, bool& negative, unsigned long long& v) {
  size_t i = 0;
  negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) negative = t[i++] == '-';
  if (i == t.size() || t.size() - i > 19) return false;
  v = 0;
  for (; i < t.size(); ++i) {
    if (!c_digit(static_cast<unsigned char>(t[i]))) return false;
    v = v * 10 + static_cast<unsigned>(t[i] - '0');
  }
  return true;
}

unsigned long long max_of(ldns_rdf_type k) {
  switch (k) {
    case LDNS_RDF_TYPE_INT16: return 0xFFFF;
    case LDNS_RDF_TYPE_INT32: return 0xFFFFFFFF;
    default: return 0xFF;  // INT8, and the one-byte kinds written as numbers
  }
}

bool one_byte_kind(ldns_rdf_type k) {
  return k == LDNS_RDF_TYPE_ALG || k == LDNS_RDF_TYPE_CERTIFICATE_USAGE ||
         k == LDNS_RDF_TYPE_SELECTOR || k == LDNS_RDF_TYPE_MATCHING_TYPE;
}

// Field kinds that are one blank-free token (so the fields after them can be told apart).
bool one_token_kind(ldns_rdf_type k) {
  switch (k) {
    case LDNS_RDF_TYPE_A: case LDNS_RDF_TYPE_AAAA: case LDNS_RDF_TYPE_INT8:
    case LDNS_RDF_TYPE_INT16: case LDNS_RDF_TYPE_INT32: case LDNS_RDF_TYPE_PERIOD:
    case LDNS_RDF_TYPE_DNAME: case LDNS_RDF_TYPE_ALG: case LDNS_RDF_TYPE_TYPE:
    case LDNS_RDF_TYPE_TIME: case LDNS_RDF_TYPE_CERTIFICATE_USAGE: case LDNS_RDF_TYPE_SELECTOR:
    case LDNS_RDF_TYPE_MATCHING_TYPE: case LDNS_RDF_TYPE_TAG: case LDNS_RDF_TYPE_NSEC3_SALT:
      return true;
    default:
      return false;
  }
}

// The range problem of a numeric field, or "".
std::string range_problem(uint16_t type, size_t i, ldns_rdf_type k, std::string_view tok) {
  bool neg;
  unsigned long long v;
  if (!plain_number(tok, neg, v)) return "";
  unsigned long long max = max_of(k);
  if ((neg && v != 0) || v > max)
    return field_label(type, i) + " '" + std::string(tok) + "' is out of range (0.." +
           std::to_string(max) + ")";
  return "";
}

}  // namespace

std::string logical_line(std::string_view raw) {
  Cursor f(raw);
  skip_blank_lines(f);
  int line = 0;
  std::string scratch;
  std::string_view out;
  if (f.eof || !fget_line(f, scratch, line, out)) return {};
  std::string_view l = out;
  strip_ws(l, 0);  // trailing blanks go, as the reader cuts them
  return std::string(l);
}

std::string number_out_of_range(std::string_view line, uint16_t type) {
  const ldns_rr_descriptor* desc = ldns_rr_descript(type);
  if (!desc) return "";
  auto f = split_fields(line);
  Head h = read_head(line, f);
  if (h.type != type || !h.problem.empty()) return "";
  size_t n = ldns_rr_descriptor_maximum(desc);
  for (size_t i = 0; i < n && h.first_rdata + i < f.size(); ++i) {
    ldns_rdf_type k = ldns_rr_descriptor_field_type(desc, i);
    if (!one_token_kind(k)) break;
    if (k == LDNS_RDF_TYPE_INT8 || k == LDNS_RDF_TYPE_INT16 || k == LDNS_RDF_TYPE_INT32 ||
        (one_byte_kind(k) && all_digits(f[h.first_rdata + i]))) {
      std::string p = range_problem(type, i, k, f[h.first_rdata + i]);
      if (!p.empty()) return p;
    }
  }
  return "";
}

std::string explain_error(std::string_view line, const char* ldns_message) {
  if (line.starts_with("$")) return ldns_message;  // a directive: ldns's words
  auto f = split_fields(line);
  Head h = read_head(line, f);
  if (!h.problem.empty()) return h.problem;
  const ldns_rr_descriptor* desc = ldns_rr_descript(h.type);
  if (!desc) return ldns_message;
  size_t min = ldns_rr_descriptor_minimum(desc), max = ldns_rr_descriptor_maximum(desc);
  if (max == 0) return ldns_message;
  bool variable = ldns_rr_descriptor_field_type(desc, max - 1) == LDNS_RDF_TYPE_STR ||
                  max > 64;  // TXT-like and open-ended types: no "too many fields"
  std::string tn = type_name(h.type);
  size_t have = f.size() - h.first_rdata;
  size_t i = 0;
  for (; i < max && i < have; ++i) {
    ldns_rdf_type k = ldns_rr_descriptor_field_type(desc, i);
    std::string tok(f[h.first_rdata + i]);
    if (tok.starts_with("\\#")) return ldns_message;  // RFC 3597: ldns has the words
    unsigned char bin[16];
    switch (k) {
      case LDNS_RDF_TYPE_A:
        if (inet_pton(AF_INET, tok.c_str(), bin) != 1) return tok + " is not an IPv4 address";
        continue;
      case LDNS_RDF_TYPE_AAAA:
        if (inet_pton(AF_INET6, tok.c_str(), bin) != 1) return tok + " is not an IPv6 address";
        continue;
      case LDNS_RDF_TYPE_INT8:
      case LDNS_RDF_TYPE_INT16:
      case LDNS_RDF_TYPE_INT32: {
        bool neg;
        unsigned long long v;
        if (!plain_number(tok, neg, v))
          return field_label(h.type, i) + " '" + tok + "' is not a number";
        std::string p = range_problem(h.type, i, k, tok);
        if (!p.empty()) return p;
        continue;
      }
      case LDNS_RDF_TYPE_PERIOD: {
        size_t end;
        str2period(tok, end);
        if (end != tok.size() || !c_digit(static_cast<unsigned char>(tok[0])))
          return field_label(h.type, i) + " '" + tok + "' is not a TTL (seconds, or as 1h30m)";
        continue;
      }
      case LDNS_RDF_TYPE_DNAME: {
        std::string w;
        if (tok != "@" && !str2dname(tok, w))
          return field_label(h.type, i) + " '" + tok + "' is not a domain name";
        continue;
      }
      case LDNS_RDF_TYPE_STR:
        if (tok.size() >= 2 && tok.front() == '"' && tok.back() != '"')
          return tn + " string " + tok + " has no closing quote";
        if (tok.size() > (tok.front() == '"' ? 257u : 255u))
          return tn + " string of " + std::to_string(tok.size()) +
                 " characters: at most 255 per string (split it in several \"...\" \"...\")";
        continue;
      default:
        if (!one_token_kind(k)) return ldns_message;  // blanks possible: fields unclear
        continue;
    }
  }
  if (have < min) {
    std::string names;
    for (size_t k = 0; k < min; ++k) {
      const char* n = field_name(h.type, k);
      names += (k ? ", " : "") + (*n ? std::string(n) : "field " + std::to_string(k + 1));
    }
    return tn + " needs " + std::to_string(min) + " field(s) (" + names + "), the line has " +
           std::to_string(have);
  }
  if (!variable && have > max) {
    std::string rest;
    for (size_t k = h.first_rdata + max; k < f.size(); ++k) rest += (rest.empty() ? "" : " ") + std::string(f[k]);
    return "unexpected text after the " + tn + " record: '" + rest + "'";
  }
  return ldns_message;
}

}  // namespace zone::zonefile
