#include "node/manifest/manifest.h"
#include "crypto/endian.h"

#include <array>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace parley {
namespace {

constexpr std::string_view kRecordDomain = "parley/record/v1";
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// What a column accepts (the rules are spelled out in manifest.h).
enum class Rule : uint8_t {
  kId,             // required: 1-64 characters, no control characters, no edge spaces
  kOptionalId,     // empty, or as kId
  kText,           // required: no control characters
  kOptionalText,   // empty, or as kText
  kMultilineText,  // required: no control characters but line feeds
  kDate,           // required: YYYY-MM-DD, a calendar date, 1900-2100
  kVocabulary,     // one of a fixed list of words
};

struct Column {
  std::string_view name;
  Rule rule;
  std::vector<std::string_view> words;  // kVocabulary only
};

struct Schema {
  std::string_view what;  // "a remains manifest", for error messages
  std::vector<Column> columns;
  std::vector<std::string> names;
};

Schema MakeSchema(std::string_view what, std::vector<Column> columns) {
  Schema s{what, std::move(columns), {}};
  for (const Column& c : s.columns) s.names.emplace_back(c.name);
  return s;
}

const Schema& RemainsSchema() {
  static const Schema* s = new Schema(MakeSchema(
      "a remains manifest",
      {{"tag", Rule::kId, {}},
       {"name", Rule::kOptionalText, {}},
       {"recovered_on", Rule::kDate, {}},
       {"recovered_at", Rule::kMultilineText, {}},
       {"identification", Rule::kVocabulary,
        {"documents", "identity_disc", "uniform", "place_found", "dna_pending", "unidentified"}},
       {"seal", Rule::kOptionalId, {}}}));
  return *s;
}

const Schema& PrisonersSchema() {
  static const Schema* s = new Schema(MakeSchema(
      "a prisoners manifest",
      {{"service_number", Rule::kId, {}},
       {"surname", Rule::kText, {}},
       {"first_names", Rule::kText, {}},
       {"date_of_birth", Rule::kDate, {}},
       {"rank", Rule::kText, {}},
       {"category", Rule::kVocabulary, {"seriously_wounded", "seriously_sick", "under_25", "other"}},
       {"consent", Rule::kVocabulary, {"yes", "no", "unknown"}}}));
  return *s;
}

const Schema& ArrivalsSchema() {
  static const Schema* s = new Schema(MakeSchema(
      "an arrival list",
      {{"arrival_id", Rule::kId, {}},
       {"record_id", Rule::kOptionalId, {}},
       {"status", Rule::kVocabulary, {"identified", "unidentified", "other_side"}}}));
  return *s;
}

// Column indexes used by the cross-field rules.
constexpr size_t kRemainsName = 1, kRemainsIdentification = 4;
constexpr size_t kArrivalId = 0, kArrivalRecordId = 1, kArrivalStatus = 2;

const Schema* SchemaOf(ManifestKind kind) {
  switch (kind) {
    case ManifestKind::kRemains: return &RemainsSchema();
    case ManifestKind::kPrisoners: return &PrisonersSchema();
  }
  return nullptr;
}

std::string Join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

// --- text -------------------------------------------------------------------

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
// U+10FFFF. Calls f(code_point) for each character; false on bad bytes.
template <typename F>
bool ForEachCodePoint(std::string_view s, F f) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t len;
    if (b0 < 0x80) {
      cp = b0, len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1F, len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0F, len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07, len = 4;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    f(cp);
    i += len;
  }
  return true;
}

bool ValidUtf8(std::string_view s) {
  return ForEachCodePoint(s, [](uint32_t) {});
}

// C0, DEL and C1.
bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::optional<std::string> DateProblem(std::string_view v) {
  auto digits = [&](size_t at, size_t n) {
    int x = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (v[i] < '0' || v[i] > '9') return -1;
      x = x * 10 + (v[i] - '0');
    }
    return x;
  };
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return "not a date of the form YYYY-MM-DD";
  const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (y < 0 || m < 0 || d < 0) return "not a date of the form YYYY-MM-DD";
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return "not a calendar date";
  const int days = kDays[m - 1] + (m == 2 && IsLeapYear(y) ? 1 : 0);
  if (d > days) return "not a calendar date";
  if (y < 1900 || y > 2100) return "a year outside 1900-2100";
  return std::nullopt;
}

// What is wrong with one value of a column, or nullopt. REQUIRES: valid UTF-8.
std::optional<std::string> FieldProblem(const Column& c, std::string_view v) {
  const bool optional = c.rule == Rule::kOptionalId || c.rule == Rule::kOptionalText;
  if (v.empty()) {
    if (optional) return std::nullopt;
    return std::string("required, but empty");
  }
  switch (c.rule) {
    case Rule::kId:
    case Rule::kOptionalId: {
      size_t chars = 0;
      bool control = false;
      (void)ForEachCodePoint(v, [&](uint32_t cp) {
        ++chars;
        control |= IsControl(cp);
      });
      if (control) return "contains a control character";
      if (chars > kMaxIdChars) return "longer than 64 characters";
      if (v.front() == ' ' || v.back() == ' ') return "begins or ends with a space";
      return std::nullopt;
    }
    case Rule::kText:
    case Rule::kOptionalText:
    case Rule::kMultilineText: {
      bool control = false;
      (void)ForEachCodePoint(v, [&](uint32_t cp) {
        control |= IsControl(cp) && !(cp == '\n' && c.rule == Rule::kMultilineText);
      });
      if (control) {
        return std::string(c.rule == Rule::kMultilineText
                               ? "contains a control character other than a line break"
                               : "contains a control character");
      }
      if (c.rule != Rule::kOptionalText &&
          v.find_first_not_of(c.rule == Rule::kMultilineText ? " \n" : " ") == std::string_view::npos) {
        return std::string("required, but blank");
      }
      return std::nullopt;
    }
    case Rule::kDate:
      return DateProblem(v);
    case Rule::kVocabulary:
      for (std::string_view w : c.words) {
        if (v == w) return std::nullopt;
      }
      return "not one of " + Join(c.words);
  }
  return std::string("unknown rule");
}

// Length, UTF-8 and the column's rule.
std::optional<std::string> CellProblem(const Column& c, std::string_view v) {
  if (v.size() > kMaxCellBytes) return "longer than " + std::to_string(kMaxCellBytes) + " bytes";
  if (!ValidUtf8(v)) return std::string("not valid UTF-8");
  return FieldProblem(c, v);
}

// --- CSV ----------------------------------------------------------------------

std::string Where(uint64_t line, size_t column, std::string_view name) {
  std::string s = "line " + std::to_string(line);
  if (column > 0) s += ", column " + std::to_string(column);
  if (!name.empty()) s += " (" + std::string(name) + ")";
  return s;
}

Status Invalid(std::string message) { return Status(Code::kInvalidArgument, std::move(message)); }

struct Row {
  uint64_t line = 0;  // physical line where the row starts, 1-based
  std::vector<std::string> cells;
};

// Reads RFC 4180 rows one at a time (grammar in manifest.h). Errors name the
// row's first line and the cell's column, and the column's name once
// set_names has been called; they never quote the input.
class CsvReader {
 public:
  explicit CsvReader(std::string_view csv) : in_(csv) {
    if (in_.substr(0, kBom.size()) == kBom) in_.remove_prefix(kBom.size());
  }

  // Names of the columns in file order, for error messages.
  void set_names(std::vector<std::string_view> names) { names_ = std::move(names); }
  uint64_t line() const { return line_; }

  // The next non-empty row, nullopt at the end of the input. A row with more
  // than max_cells cells is refused (with too_many) as soon as the extra
  // cell begins, so that a line of commas cannot take much memory.
  Result<std::optional<Row>> Next(size_t max_cells, std::string_view too_many) {
    // Skip empty lines.
    while (pos_ < in_.size()) {
      if (in_[pos_] == '\n') {
        ++pos_, ++line_;
      } else if (in_.substr(pos_, 2) == "\r\n") {
        pos_ += 2, ++line_;
      } else {
        break;
      }
    }
    if (pos_ >= in_.size()) return std::optional<Row>();

    Row row;
    row.line = line_;
    for (size_t column = 1;; ++column) {
      if (column > max_cells) {
        return Invalid(Where(row.line, column, {}) + ": " + std::string(too_many));
      }
      std::string cell;
      Status s = ReadCell(row.line, column, cell);
      if (!s.ok()) return s;
      if (cell.size() > kMaxCellBytes) {
        return Invalid(Where(row.line, column, Name(column)) + ": longer than " +
                       std::to_string(kMaxCellBytes) + " bytes");
      }
      if (!ValidUtf8(cell)) return Invalid(Where(row.line, column, Name(column)) + ": not valid UTF-8");
      row.cells.push_back(std::move(cell));
      // ReadCell stops at a comma, a line break or the end.
      if (pos_ >= in_.size()) break;
      if (in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      pos_ += in_[pos_] == '\r' ? 2 : 1;  // "\r\n" or "\n"
      ++line_;
      break;
    }
    return std::optional<Row>(std::move(row));
  }

 private:
  std::string_view Name(size_t column) const {
    return column >= 1 && column <= names_.size() ? names_[column - 1] : std::string_view();
  }

  // One cell, leaving pos_ at the comma, line break or end that follows it.
  Status ReadCell(uint64_t row_line, size_t column, std::string& cell) {
    auto error = [&](std::string_view what) {
      return Invalid(Where(row_line, column, Name(column)) + ": " + std::string(what));
    };
    const size_t start = pos_;
    while (pos_ < in_.size() && IsBlank(in_[pos_])) ++pos_;
    if (pos_ < in_.size() && in_[pos_] == '"') {
      ++pos_;
      for (;;) {
        if (pos_ >= in_.size()) return error("a quoted cell is not closed");
        const char c = in_[pos_];
        if (c == '"') {
          if (pos_ + 1 < in_.size() && in_[pos_ + 1] == '"') {
            cell += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\r' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '\n') {
          cell += '\n';  // a CRLF inside quotes is kept as LF
          pos_ += 2;
          ++line_;
        } else {
          if (c == '\n') ++line_;
          cell += c;
          ++pos_;
        }
        if (cell.size() > kMaxCellBytes) {
          return error("longer than " + std::to_string(kMaxCellBytes) + " bytes");
        }
      }
      while (pos_ < in_.size() && IsBlank(in_[pos_])) ++pos_;
      if (pos_ < in_.size() && !AtSeparator()) {
        if (in_[pos_] == '\r') return error("a carriage return without a line feed");
        return error("text after the closing quote");
      }
      return Status::Ok();
    }
    pos_ = start;
    while (pos_ < in_.size() && !AtSeparator()) {
      if (in_[pos_] == '"') return error("a quote inside an unquoted cell");
      if (in_[pos_] == '\r') return error("a carriage return without a line feed");
      ++pos_;
    }
    cell = std::string(TrimBlanks(in_.substr(start, pos_ - start)));
    return Status::Ok();
  }

  // At ',', "\n" or "\r\n".
  bool AtSeparator() const {
    const char c = in_[pos_];
    return c == ',' || c == '\n' || (c == '\r' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '\n');
  }

  std::string_view in_;
  size_t pos_ = 0;
  uint64_t line_ = 1;
  std::vector<std::string_view> names_;
};

// A row of the table: its first line and its values in canonical order.
struct TableRow {
  uint64_t line;
  std::vector<std::string> fields;
};

// Reads the header and the rows of a table of `schema`, checking the header,
// the cell count and each value against its column (in file order), and
// hands each row to on_row with a way to name a cell in errors. on_row
// returns an error (already worded) or OK.
template <typename OnRow>
Status ReadTable(std::string_view csv, const Schema& schema, std::string_view empty_message,
                 OnRow on_row) {
  const size_t n = schema.columns.size();
  CsvReader reader(csv);
  constexpr size_t kMaxHeaderCells = 64;
  Result<std::optional<Row>> header =
      reader.Next(kMaxHeaderCells, "more than " + std::to_string(kMaxHeaderCells) + " columns");
  if (!header) return header.error();
  if (!header->has_value()) {
    return Invalid(Where(reader.line(), 0, {}) + ": no header line (the file is empty)");
  }
  const Row& h = **header;

  // physical[k] = the file column (0-based) of canonical column k.
  std::vector<size_t> physical(n, SIZE_MAX);
  std::vector<size_t> canonical(h.cells.size());
  for (size_t p = 0; p < h.cells.size(); ++p) {
    size_t k = 0;
    while (k < n && schema.names[k] != h.cells[p]) ++k;
    if (k == n) {
      // The cell is not quoted back: a file without its header would put a
      // record (personal data) here.
      return Invalid(Where(h.line, p + 1, {}) + ": not a column of " + std::string(schema.what) +
                     " (its columns are " + Join({schema.names.begin(), schema.names.end()}) + ")");
    }
    if (physical[k] != SIZE_MAX) {
      return Invalid(Where(h.line, p + 1, schema.names[k]) + ": repeats column " +
                     std::to_string(physical[k] + 1));
    }
    physical[k] = p;
    canonical[p] = k;
  }
  for (size_t k = 0; k < n; ++k) {
    if (physical[k] == SIZE_MAX) {
      return Invalid(Where(h.line, 0, {}) + ": the header has no column " + schema.names[k]);
    }
  }
  std::vector<std::string_view> names(n);
  for (size_t p = 0; p < n; ++p) names[p] = schema.names[canonical[p]];
  reader.set_names(names);

  auto where = [&](uint64_t line, size_t k) {
    return Where(line, physical[k] + 1, schema.names[k]);
  };
  const std::string too_many = "a cell beyond the header's " + std::to_string(n) + " columns";
  size_t rows = 0;
  for (;;) {
    Result<std::optional<Row>> next = reader.Next(n, too_many);
    if (!next) return next.error();
    if (!next->has_value()) break;
    Row& row = **next;
    if (row.cells.size() != n) {
      return Invalid(Where(row.line, 0, {}) + ": " + std::to_string(row.cells.size()) +
                     (row.cells.size() == 1 ? " cell" : " cells") + " where the header has " +
                     std::to_string(n) + " columns");
    }
    if (++rows > kMaxManifestRows) {
      return Invalid(Where(row.line, 0, {}) + ": more than " + std::to_string(kMaxManifestRows) +
                     " rows");
    }
    TableRow t{row.line, std::vector<std::string>(n)};
    for (size_t p = 0; p < n; ++p) t.fields[canonical[p]] = std::move(row.cells[p]);
    for (size_t p = 0; p < n; ++p) {
      const size_t k = canonical[p];
      if (auto problem = FieldProblem(schema.columns[k], t.fields[k])) {
        return Invalid(where(t.line, k) + ": " + *problem);
      }
    }
    Status s = on_row(std::move(t), where);
    if (!s.ok()) return s;
  }
  if (rows == 0) return Invalid(std::string(empty_message));
  return Status::Ok();
}

// The cross-field rule of a manifest record: which field breaks it, and how.
struct CrossProblem {
  size_t field;
  std::string what;
};
std::optional<CrossProblem> RecordCrossProblem(ManifestKind kind,
                                               const std::vector<std::string>& f) {
  if (kind == ManifestKind::kRemains && f[kRemainsIdentification] == "unidentified" &&
      !f[kRemainsName].empty()) {
    return CrossProblem{kRemainsName, "must be empty when identification is unidentified"};
  }
  return std::nullopt;
}

std::optional<CrossProblem> ArrivalCrossProblem(const std::vector<std::string>& f) {
  if (f[kArrivalStatus] == "identified" && f[kArrivalRecordId].empty()) {
    return CrossProblem{kArrivalRecordId, "required when status is identified"};
  }
  if (f[kArrivalStatus] == "unidentified" && !f[kArrivalRecordId].empty()) {
    return CrossProblem{kArrivalRecordId, "must be empty when status is unidentified"};
  }
  return std::nullopt;
}

}  // namespace

std::string_view ManifestKindName(ManifestKind kind) {
  switch (kind) {
    case ManifestKind::kRemains: return "remains";
    case ManifestKind::kPrisoners: return "prisoners";
  }
  return "unknown";
}

Result<ManifestKind> ParseManifestKind(std::string_view name) {
  if (name == "remains") return ManifestKind::kRemains;
  if (name == "prisoners") return ManifestKind::kPrisoners;
  return Invalid("unknown manifest kind '" + std::string(name) + "' (expected remains or prisoners)");
}

const std::vector<std::string>& ManifestColumns(ManifestKind kind) {
  const Schema* schema = SchemaOf(kind);
  PARLEY_CHECK(schema != nullptr);
  return schema->names;
}

std::string CanonicalRecord(const ManifestRecord& record) {
  size_t size = kRecordDomain.size() + 1;
  for (const std::string& f : record.fields) size += 4 + f.size();
  std::string out;
  out.reserve(size);
  out.append(kRecordDomain);
  out.push_back(static_cast<char>(record.kind));
  for (const std::string& f : record.fields) {
    const auto n = static_cast<uint32_t>(f.size());
    AppendBigEndian32(out, n);
    out.append(f);
  }
  return out;
}

Result<ManifestRecord> DecodeCanonicalRecord(std::string_view bytes) {
  const auto bad = [](const std::string& why) { return Status(Code::kDataLoss, "record bytes: " + why); };
  if (bytes.substr(0, kRecordDomain.size()) != kRecordDomain) return bad("missing the parley/record/v1 prefix");
  bytes.remove_prefix(kRecordDomain.size());
  if (bytes.empty()) return bad("missing the kind byte");
  ManifestRecord r;
  const uint8_t kind = static_cast<uint8_t>(bytes[0]);
  if (kind != static_cast<uint8_t>(ManifestKind::kRemains) && kind != static_cast<uint8_t>(ManifestKind::kPrisoners)) {
    return bad("unknown kind " + std::to_string(kind));
  }
  r.kind = static_cast<ManifestKind>(kind);
  bytes.remove_prefix(1);
  const size_t columns = ManifestColumns(r.kind).size();
  while (!bytes.empty()) {
    if (bytes.size() < 4) return bad("truncated field length");
    const uint32_t n = ReadBigEndian32(bytes);
    bytes.remove_prefix(4);
    if (n > bytes.size()) return bad("field longer than the bytes left");
    if (r.fields.size() == columns) return bad("more fields than the kind has columns");
    r.fields.emplace_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (r.fields.size() != columns) return bad("fewer fields than the kind has columns");
  if (Status s = CheckManifestRecord(r); !s.ok()) return bad(s.message());
  return r;
}

Status CheckManifestRecord(const ManifestRecord& record) {
  const Schema* schema = SchemaOf(record.kind);
  if (schema == nullptr) return Invalid("not a manifest kind");
  const size_t n = schema->columns.size();
  if (record.fields.size() != n) {
    return Invalid("a " + std::string(ManifestKindName(record.kind)) + " record has " +
                   std::to_string(record.fields.size()) + " fields, not " + std::to_string(n));
  }
  auto where = [&](size_t k) {
    return "field " + std::to_string(k + 1) + " (" + schema->names[k] + ")";
  };
  for (size_t k = 0; k < n; ++k) {
    if (auto problem = CellProblem(schema->columns[k], record.fields[k])) {
      return Invalid(where(k) + ": " + *problem);
    }
  }
  if (auto cross = RecordCrossProblem(record.kind, record.fields)) {
    return Invalid(where(cross->field) + ": " + cross->what);
  }
  return Status::Ok();
}

Result<std::vector<ManifestRecord>> ParseManifestCsv(ManifestKind kind, std::string_view csv) {
  const Schema* schema = SchemaOf(kind);
  if (schema == nullptr) return Invalid("not a manifest kind");
  std::vector<ManifestRecord> records;
  std::unordered_map<std::string, uint64_t> line_of_id;
  Status s = ReadTable(csv, *schema, "the manifest has no records",
                       [&](TableRow row, const auto& where) -> Status {
    if (auto cross = RecordCrossProblem(kind, row.fields)) {
      return Invalid(where(row.line, cross->field) + ": " + cross->what);
    }
    auto [it, inserted] = line_of_id.emplace(row.fields[0], row.line);
    if (!inserted) {
      return Invalid(where(row.line, 0) + ": the record id duplicates line " +
                     std::to_string(it->second));
    }
    records.push_back(ManifestRecord{kind, std::move(row.fields)});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return records;
}

Result<std::vector<Arrival>> ParseArrivalsCsv(std::string_view csv) {
  std::vector<Arrival> arrivals;
  std::unordered_map<std::string, uint64_t> line_of_arrival, line_of_record;
  Status s = ReadTable(csv, ArrivalsSchema(), "the arrival list has no rows",
                       [&](TableRow row, const auto& where) -> Status {
    std::vector<std::string>& f = row.fields;
    if (auto cross = ArrivalCrossProblem(f)) {
      return Invalid(where(row.line, cross->field) + ": " + cross->what);
    }
    auto [a, new_arrival] = line_of_arrival.emplace(f[kArrivalId], row.line);
    if (!new_arrival) {
      return Invalid(where(row.line, kArrivalId) + ": the arrival id duplicates line " +
                     std::to_string(a->second));
    }
    if (!f[kArrivalRecordId].empty()) {
      auto [r, new_record] = line_of_record.emplace(f[kArrivalRecordId], row.line);
      if (!new_record) {
        return Invalid(where(row.line, kArrivalRecordId) + ": the record id duplicates line " +
                       std::to_string(r->second));
      }
    }
    Arrival arrival;
    arrival.arrival_id = std::move(f[kArrivalId]);
    arrival.record_id = std::move(f[kArrivalRecordId]);
    const std::string& status = f[kArrivalStatus];
    arrival.status = status == "identified"     ? Arrival::Status::kIdentified
                     : status == "unidentified" ? Arrival::Status::kUnidentified
                                                : Arrival::Status::kOtherSide;
    arrivals.push_back(std::move(arrival));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return arrivals;
}

ReconciliationResult Reconcile(const std::vector<std::string>& manifest_ids,
                               const std::vector<Arrival>& arrivals) {
  using Outcome = ReconciliationLine::Outcome;
  ReconciliationResult result;
  result.received = arrivals.size();
  const std::unordered_set<std::string_view> on_manifest(manifest_ids.begin(), manifest_ids.end());
  std::unordered_set<std::string_view> matched;
  uint64_t n_matched = 0, n_not_on_manifest = 0, n_unidentified = 0, n_other_side = 0, n_missing = 0;
  for (const Arrival& a : arrivals) {
    Outcome outcome;
    switch (a.status) {
      case Arrival::Status::kOtherSide:
        outcome = Outcome::kOtherSide;
        ++n_other_side;
        break;
      case Arrival::Status::kUnidentified:
        outcome = Outcome::kUnidentified;
        ++n_unidentified;
        break;
      case Arrival::Status::kIdentified:
      default:
        // A repeated record id (against the REQUIRES) matches only once.
        if (on_manifest.count(a.record_id) != 0 && matched.insert(a.record_id).second) {
          outcome = Outcome::kMatched;
          ++n_matched;
        } else {
          outcome = Outcome::kNotOnManifest;
          ++n_not_on_manifest;
        }
        break;
    }
    ReconciliationLine line{outcome, a.arrival_id,
                            outcome == Outcome::kUnidentified ? std::string() : a.record_id};
    result.detail.push_back(std::move(line));
  }
  std::unordered_set<std::string_view> reported;
  for (const std::string& id : manifest_ids) {
    if (matched.count(id) != 0 || !reported.insert(id).second) continue;
    result.detail.push_back(ReconciliationLine{Outcome::kMissing, std::string(), id});
    ++n_missing;
  }
  result.figures.set_matched(n_matched);
  result.figures.set_missing(n_missing);
  result.figures.set_not_on_manifest(n_not_on_manifest);
  result.figures.set_unidentified(n_unidentified);
  result.figures.set_other_side(n_other_side);
  return result;
}

}  // namespace parley
