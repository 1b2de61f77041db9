// The zone-file reader behind load_zone_file/load_zone_text: reads master-file text from
// memory and turns it into records, giving exactly what the ldns-based reader did (ldns 1.8.3
// ldns_rr_new_frm_fp_l in a loop, see loader.cpp), only much faster.
//
// Two layers, both written to follow ldns step by step:
//  - the scanner splits the text into logical lines the way ldns_fget_token_l_st does
//    (parentheses, comments, quotes, line counting and all its quirks), handles $ORIGIN,
//    $TTL and $INCLUDE, and tracks file:line;
//  - each line then goes either through the direct parser, which reads the fields as ldns
//    describes them and converts names, strings, numbers and addresses (the common types:
//    A, AAAA, NS, CNAME, PTR, DNAME, MX, TXT, SOA, SRV) itself, and other fields (base64,
//    hex, NSEC bitmaps, times, ...) with ldns's own converter for that field; or, for
//    anything it is not sure about (classes other than IN, TYPEnnn and \# data, errors, odd
//    syntax), through ldns_rr_new_frm_str on that line with the same origin, TTL and
//    previous owner. ldns stays the reference: its results and error messages are what the
//    fallback gives.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zone/file_stamp.h"
#include "zone/zone.h"

namespace zone::zonefile {

// One record, as it goes to ZoneBuilder::add.
struct Record {
  uint32_t file = 0;  // index into Parser::files()
  int first_line = 0, last_line = 0;
  bool explicit_owner = true;
  std::string_view owner;  // wire, as written (not lowercased)
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string_view rdata;  // wire
};

// Receives the records in file order (an $INCLUDE's records where the directive is).
class Sink {
 public:
  virtual ~Sink() = default;
  // A new file index, before any record that names it.
  virtual void file(uint32_t index, const std::string& name) = 0;
  virtual void record(const Record& r) = 0;
};

struct Stats {
  size_t direct = 0;    // records converted by the direct parser
  size_t fallback = 0;  // lines handed to ldns_rr_new_frm_str
};

class Parser {
 public:
  // direct = false sends every record line to ldns (the scanner still does the rest).
  Parser(Sink& sink, std::vector<ZoneError>& errors, bool direct = true);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses one zone: `text` named `file` (for messages and relative $INCLUDE paths), with
  // `origin` (wire) as its starting $ORIGIN and a default TTL of 3600.
  void parse(std::string_view text, const std::string& file, std::string_view origin);

  const std::vector<std::string>& files() const { return files_; }
  // The stamp of each $INCLUDE file as it was read, by index into files() (index 0, the text
  // given to parse(), has none).
  const std::vector<FileStamp>& stamps() const { return stamps_; }
  const Stats& stats() const { return stats_; }

 private:
  struct State;
  struct Scratch;
  void parse_text(std::string_view text, uint32_t file, std::optional<std::string> origin,
                  uint32_t ttl, int depth);
  void include(std::string_view raw, uint32_t file, int line, const std::optional<std::string>& origin,
               uint32_t ttl, int depth);
  void record_line(State& st, std::string_view line, int first_line, int last_line,
                   bool explicit_owner);
  bool direct_record(State& st, std::string_view line, Record& out);
  bool class_or_type(std::string_view tok, bool& in, uint16_t& type);
  bool type_of(std::string_view tok, uint16_t& type);
  int ldns_type(std::string_view tok);
  bool nsec_bitmap(std::string_view s, std::string& out);
  bool ldns_field(int field, std::string_view tok, std::string& out);
  void fallback_record(State& st, const std::string& line, int first_line, int last_line,
                       bool explicit_owner);
  uint32_t add_file(const std::string& name);
  void error(uint32_t file, int line, std::string message);

  Sink& sink_;
  std::vector<ZoneError>& errors_;
  bool direct_;
  std::vector<std::string> files_;
  std::vector<FileStamp> stamps_;
  Stats stats_;
  Scratch* scratch_;
};

// Error wording shared by both readers (the direct parser's ldns fallback and the ldns-based
// loader), so that an operator reads which field and which value are wrong:
//  - the logical line ldns read from `raw` text (parentheses joined, comments dropped);
std::string logical_line(std::string_view raw);
//  - why ldns rejected `line`, in the words of its fields ("192.0.2.300 is not an IPv4
//    address", "MX preference 'x' is not a number", a hint when the TTL follows the class);
//    ldns's own message when there is nothing better to say;
std::string explain_error(std::string_view line, const char* ldns_message);
//  - a number ldns accepts but cuts to its field's size ("MX preference '70000' is out of
//    range (0..65535)"): an error, or "" when every number of `line` (of type `type`) fits.
std::string number_out_of_range(std::string_view line, uint16_t type);

// Reads a whole file into `out`; false with errno set when it cannot be opened or read.
// `stamp`, when given, gets the file's stamp as it was opened (before it was read: an edit
// made meanwhile moves the file's stamp away from it).
bool read_file(const std::string& path, std::string& out, FileStamp* stamp = nullptr);

}  // namespace zone::zonefile
