#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "node/manifest/manifest.h"

namespace parley {
namespace {

constexpr std::string_view kRemainsHeader =
    "tag,name,recovered_on,recovered_at,identification,seal\n";
constexpr std::string_view kPrisonersHeader =
    "service_number,surname,first_names,date_of_birth,rank,category,consent\n";
constexpr std::string_view kArrivalsHeader = "arrival_id,record_id,status\n";

std::string Remains(std::string_view rows) { return std::string(kRemainsHeader) + std::string(rows); }
std::string Prisoners(std::string_view rows) { return std::string(kPrisonersHeader) + std::string(rows); }
std::string Arrivals(std::string_view rows) { return std::string(kArrivalsHeader) + std::string(rows); }

// The error message of a parse that must fail ("" if it succeeded).
std::string ManifestError(ManifestKind kind, std::string_view csv) {
  Result<std::vector<ManifestRecord>> r = ParseManifestCsv(kind, csv);
  if (r) return "";
  CHECK(r.error().code() == Code::kInvalidArgument);
  return r.error().message();
}
std::string RemainsError(std::string_view rows) { return ManifestError(ManifestKind::kRemains, Remains(rows)); }
std::string PrisonersError(std::string_view rows) {
  return ManifestError(ManifestKind::kPrisoners, Prisoners(rows));
}
std::string ArrivalsError(std::string_view csv) {
  Result<std::vector<Arrival>> r = ParseArrivalsCsv(csv);
  if (r) return "";
  CHECK(r.error().code() == Code::kInvalidArgument);
  return r.error().message();
}

std::vector<ManifestRecord> ParseOk(ManifestKind kind, std::string_view csv) {
  Result<std::vector<ManifestRecord>> r = ParseManifestCsv(kind, csv);
  REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
  return std::move(r).value();
}

using Fields = std::vector<std::string>;

TEST_CASE("manifest kinds have names and columns in canonical order") {
  CHECK(ManifestKindName(ManifestKind::kRemains) == "remains");
  CHECK(ManifestKindName(ManifestKind::kPrisoners) == "prisoners");
  CHECK(*ParseManifestKind("remains") == ManifestKind::kRemains);
  CHECK(*ParseManifestKind("prisoners") == ManifestKind::kPrisoners);
  CHECK_FALSE(ParseManifestKind("Remains").has_value());
  CHECK_FALSE(ParseManifestKind("").has_value());
  CHECK(ManifestColumns(ManifestKind::kRemains) ==
        Fields{"tag", "name", "recovered_on", "recovered_at", "identification", "seal"});
  CHECK(ManifestColumns(ManifestKind::kPrisoners) ==
        Fields{"service_number", "surname", "first_names", "date_of_birth", "rank", "category",
               "consent"});
}

TEST_CASE("a remains manifest parses into records in file order") {
  const auto records = ParseOk(ManifestKind::kRemains, Remains(
      "UA-0001,Ivan Petrenko,2023-05-01,Field near Robotyne,identity_disc,S-771\n"
      "UA-0002,,2023-05-02,Forest road,unidentified,\n"
      "UA-0003,,2024-02-29,Village school,dna_pending,S-773\n"));
  REQUIRE(records.size() == 3);
  CHECK(records[0].kind == ManifestKind::kRemains);
  CHECK(records[0].fields ==
        Fields{"UA-0001", "Ivan Petrenko", "2023-05-01", "Field near Robotyne", "identity_disc", "S-771"});
  CHECK(records[1].fields == Fields{"UA-0002", "", "2023-05-02", "Forest road", "unidentified", ""});
  CHECK(records[2].id() == "UA-0003");
  for (const ManifestRecord& r : records) CHECK(CheckManifestRecord(r).ok());
}

TEST_CASE("a prisoners manifest parses into records in file order") {
  const auto records = ParseOk(ManifestKind::kPrisoners, Prisoners(
      "RU-11,Ivanov,Pyotr Sergeyevich,1999-12-31,Private,seriously_wounded,yes\n"
      "RU-12,Smirnova,Anna,2001-01-01,Sergeant,under_25,unknown\n"));
  REQUIRE(records.size() == 2);
  CHECK(records[0].kind == ManifestKind::kPrisoners);
  CHECK(records[0].fields ==
        Fields{"RU-11", "Ivanov", "Pyotr Sergeyevich", "1999-12-31", "Private", "seriously_wounded", "yes"});
  CHECK(records[1].fields ==
        Fields{"RU-12", "Smirnova", "Anna", "2001-01-01", "Sergeant", "under_25", "unknown"});
}

TEST_CASE("manifest columns may come in any order and records keep the canonical order") {
  const auto records = ParseOk(ManifestKind::kPrisoners,
      "consent,rank,surname,service_number,category,date_of_birth,first_names\n"
      "no,Captain,Kovalenko,UA-5,other,1980-06-15,Oksana\n");
  REQUIRE(records.size() == 1);
  CHECK(records[0].fields == Fields{"UA-5", "Kovalenko", "Oksana", "1980-06-15", "Captain", "other", "no"});

  // Errors then name the file's column numbers.
  CHECK(ManifestError(ManifestKind::kPrisoners,
                      "consent,rank,surname,service_number,category,date_of_birth,first_names\n"
                      "no,Captain,Kovalenko,UA-5,other,1980-06-31,Oksana\n") ==
        "line 2, column 6 (date_of_birth): not a calendar date");
}

TEST_CASE("quoted manifest cells hold commas, doubled quotes and line breaks; CRLF and a BOM are accepted") {
  const std::string csv =
      "\xEF\xBB\xBF"
      "tag,name,recovered_on,recovered_at,identification,seal\r\n"
      "\"UA-1\",\"Petrenko, Ivan \"\"Vanya\"\"\",2023-05-01,\"Field 4,\r\nnear the river\",documents,\r\n"
      "  UA-2 ,\t,2023-05-02 , \"  Forest road \" ,unidentified,\"\"\r\n";
  const auto records = ParseOk(ManifestKind::kRemains, csv);
  REQUIRE(records.size() == 2);
  CHECK(records[0].fields ==
        Fields{"UA-1", "Petrenko, Ivan \"Vanya\"", "2023-05-01", "Field 4,\nnear the river", "documents", ""});
  // Unquoted cells are trimmed of spaces and tabs, quoted ones are not.
  CHECK(records[1].fields == Fields{"UA-2", "", "2023-05-02", "  Forest road ", "unidentified", ""});

  SUBCASE("the same file with LF line ends gives the same records") {
    std::string lf;
    for (size_t i = 0; i < csv.size(); ++i) {
      if (csv.compare(i, 2, "\r\n") != 0) lf += csv[i];
    }
    const auto again = ParseOk(ManifestKind::kRemains, lf);
    REQUIRE(again.size() == 2);
    CHECK(again[0].fields == records[0].fields);
    CHECK(again[1].fields == records[1].fields);
  }
  SUBCASE("no final line break") {
    const auto one = ParseOk(ManifestKind::kRemains, Remains("UA-1,,2023-05-01,Field,uniform,"));
    REQUIRE(one.size() == 1);
    CHECK(one[0].fields.back() == "");
  }
}

TEST_CASE("empty lines in a manifest are skipped and line numbers stay physical") {
  const std::string csv = "\n" + std::string(kRemainsHeader) +
                          "\n\r\nUA-1,,2023-05-01,Field,uniform,\n\n"
                          "UA-2,,2023-05-01,Field,dental,\n";
  CHECK(ManifestError(ManifestKind::kRemains, csv) ==
        "line 7, column 5 (identification): not one of documents, identity_disc, uniform, "
        "place_found, dna_pending, unidentified");
  CHECK(ManifestError(ManifestKind::kRemains, "\n\n") == "line 3: no header line (the file is empty)");
  CHECK(ManifestError(ManifestKind::kRemains, "") == "line 1: no header line (the file is empty)");
}

TEST_CASE("malformed quoting in a manifest names the line and column") {
  CHECK(RemainsError("UA-1,Pet\"renko,2023-05-01,Field,uniform,\n") ==
        "line 2, column 2 (name): a quote inside an unquoted cell");
  CHECK(RemainsError("UA-1,\"Petrenko\"x,2023-05-01,Field,uniform,\n") ==
        "line 2, column 2 (name): text after the closing quote");
  CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform,\nUA-2,,2023-05-01,\"Field,uniform,\n") ==
        "line 3, column 4 (recovered_at): a quoted cell is not closed");
  CHECK(RemainsError("UA-1,,2023-05-01,Field\r,uniform,\n") ==
        "line 2, column 4 (recovered_at): a carriage return without a line feed");
  CHECK(ManifestError(ManifestKind::kRemains, "tag,na\"me,recovered_on\n") ==
        "line 1, column 2: a quote inside an unquoted cell");
}

TEST_CASE("a manifest error after a multi-line quoted cell names its physical line") {
  const std::string rows =
      "UA-1,,2023-05-01,\"Field 4,\nnear the river,\nsouth bank\",documents,\n"  // lines 2-4
      "UA-2,,2023-13-01,Village,documents,\n";                                    // line 5
  CHECK(RemainsError(rows) == "line 5, column 3 (recovered_on): not a calendar date");

  // An error in a row that spans lines names the line where the row starts.
  CHECK(RemainsError("UA-1,,2023-05-01,\"Field 4,\nnear the river\",documents,S\x01\n") ==
        "line 2, column 6 (seal): contains a control character");
  CHECK(RemainsError("UA-1,,2023-05-01,\"a\r\nb\r\nc\",documents,\r\nUA-1,,2023-05-01,x,documents,\r\n") ==
        "line 5, column 1 (tag): the record id duplicates line 2");
}

TEST_CASE("manifest values breaking their column's rule name line, column and column name") {
  SUBCASE("dates") {
    CHECK(RemainsError("UA-1,,1.5.2023,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): not a date of the form YYYY-MM-DD");
    CHECK(RemainsError("UA-1,,2023-5-01,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): not a date of the form YYYY-MM-DD");
    CHECK(RemainsError("UA-1,,2023-02-29,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): not a calendar date");
    CHECK(RemainsError("UA-1,,2100-02-29,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): not a calendar date");
    CHECK(RemainsError("UA-1,,2000-02-29,Field,uniform,\n").empty());
    CHECK(RemainsError("UA-1,,2023-04-31,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): not a calendar date");
    CHECK(RemainsError("UA-1,,1899-12-31,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): a year outside 1900-2100");
    CHECK(RemainsError("UA-1,,2101-01-01,Field,uniform,\n") ==
          "line 2, column 3 (recovered_on): a year outside 1900-2100");
    CHECK(PrisonersError("RU-1,Ivanov,Pyotr,,Private,other,yes\n") ==
          "line 2, column 4 (date_of_birth): required, but empty");
  }
  SUBCASE("required values and vocabularies") {
    CHECK(RemainsError(",,2023-05-01,Field,uniform,\n") == "line 2, column 1 (tag): required, but empty");
    CHECK(RemainsError("UA-1,,2023-05-01,\"  \",uniform,\n") ==
          "line 2, column 4 (recovered_at): required, but blank");
    CHECK(PrisonersError("RU-1,,Pyotr,1999-01-01,Private,other,yes\n") ==
          "line 2, column 2 (surname): required, but empty");
    CHECK(PrisonersError("RU-1,Ivanov,Pyotr,1999-01-01,,other,yes\n") ==
          "line 2, column 5 (rank): required, but empty");
    CHECK(PrisonersError("RU-1,Ivanov,Pyotr,1999-01-01,Private,Other,yes\n") ==
          "line 2, column 6 (category): not one of seriously_wounded, seriously_sick, under_25, other");
    CHECK(PrisonersError("RU-1,Ivanov,Pyotr,1999-01-01,Private,other,maybe\n") ==
          "line 2, column 7 (consent): not one of yes, no, unknown");
  }
  SUBCASE("record ids and seals") {
    const std::string id64(64, 'x'), id65(65, 'x');
    CHECK(RemainsError(id64 + ",,2023-05-01,Field,uniform,\n").empty());
    CHECK(RemainsError(id65 + ",,2023-05-01,Field,uniform,\n") ==
          "line 2, column 1 (tag): longer than 64 characters");
    // 64 characters of two bytes each are 128 bytes: still fine.
    std::string cyrillic;
    for (int i = 0; i < 64; ++i) cyrillic += "\xD0\x96";  // U+0416
    CHECK(RemainsError(cyrillic + ",,2023-05-01,Field,uniform,\n").empty());
    CHECK(RemainsError("\"UA-1 \",,2023-05-01,Field,uniform,\n") ==
          "line 2, column 1 (tag): begins or ends with a space");
    CHECK(RemainsError("UA\x1b[31m,,2023-05-01,Field,uniform,\n") ==
          "line 2, column 1 (tag): contains a control character");
    CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform," + id65 + "\n") ==
          "line 2, column 6 (seal): longer than 64 characters");
    CHECK(PrisonersError("\"RU\n1\",Ivanov,Pyotr,1999-01-01,Private,other,yes\n") ==
          "line 2, column 1 (service_number): contains a control character");
  }
  SUBCASE("text") {
    CHECK(PrisonersError("RU-1,\"Iva\nnov\",Pyotr,1999-01-01,Private,other,yes\n") ==
          "line 2, column 2 (surname): contains a control character");
    CHECK(RemainsError("UA-1,,2023-05-01,\"Field\tnorth\",uniform,\n") ==
          "line 2, column 4 (recovered_at): contains a control character other than a line break");
    CHECK(RemainsError("UA-1,,2023-05-01,Field \xC2\x85,uniform,\n") ==  // U+0085, a C1 control
          "line 2, column 4 (recovered_at): contains a control character other than a line break");
  }
  SUBCASE("an unidentified body has no name") {
    CHECK(RemainsError("UA-1,Ivan Petrenko,2023-05-01,Field,unidentified,\n") ==
          "line 2, column 2 (name): must be empty when identification is unidentified");
    CHECK(ManifestError(ManifestKind::kRemains,
                        "identification,name,tag,recovered_on,recovered_at,seal\n"
                        "unidentified,Ivan,UA-1,2023-05-01,Field,\n") ==
          "line 2, column 2 (name): must be empty when identification is unidentified");
  }
  SUBCASE("length and encoding") {
    const std::string long_place(257, 'a');
    CHECK(RemainsError("UA-1,,2023-05-01," + std::string(256, 'a') + ",uniform,\n").empty());
    CHECK(RemainsError("UA-1,,2023-05-01," + long_place + ",uniform,\n") ==
          "line 2, column 4 (recovered_at): longer than 256 bytes");
    CHECK(RemainsError("UA-1,,2023-05-01,\"" + long_place + "\",uniform,\n") ==
          "line 2, column 4 (recovered_at): longer than 256 bytes");
    CHECK(RemainsError("UA-1,Petr\xFF,2023-05-01,Field,uniform,\n") ==
          "line 2, column 2 (name): not valid UTF-8");
    CHECK(RemainsError("UA-1,\xC0\xAF,2023-05-01,Field,uniform,\n") ==  // overlong '/'
          "line 2, column 2 (name): not valid UTF-8");
    CHECK(RemainsError("UA-1,\xED\xA0\x80,2023-05-01,Field,uniform,\n") ==  // a surrogate
          "line 2, column 2 (name): not valid UTF-8");
    CHECK(RemainsError("UA-1,\"Petr\xE2\x82\",2023-05-01,Field,uniform,\n") ==  // truncated
          "line 2, column 2 (name): not valid UTF-8");
  }
  SUBCASE("cell counts") {
    CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform\n") == "line 2: 5 cells where the header has 6 columns");
    CHECK(RemainsError(" \n") == "line 2: 1 cell where the header has 6 columns");
    CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform,,\n") ==
          "line 2, column 7: a cell beyond the header's 6 columns");
  }
}

TEST_CASE("the manifest header must name each column of the kind exactly once") {
  CHECK(ManifestError(ManifestKind::kRemains,
                      "tag,name,recovered_on,recovered_at,identification,seal,notes\nx\n") ==
        "line 1, column 7: not a column of a remains manifest (its columns are tag, name, "
        "recovered_on, recovered_at, identification, seal)");
  CHECK(ManifestError(ManifestKind::kRemains,
                      "tag,Name,recovered_on,recovered_at,identification,seal\n") ==
        "line 1, column 2: not a column of a remains manifest (its columns are tag, name, "
        "recovered_on, recovered_at, identification, seal)");
  CHECK(ManifestError(ManifestKind::kRemains, "tag,name,recovered_on,recovered_at,identification\n") ==
        "line 1: the header has no column seal");
  CHECK(ManifestError(ManifestKind::kRemains,
                      "tag,name,recovered_on,recovered_at,tag,identification,seal\n") ==
        "line 1, column 5 (tag): repeats column 1");
  // A prisoners header is not a remains header.
  CHECK(ManifestError(ManifestKind::kRemains, Prisoners("")) ==
        "line 1, column 1: not a column of a remains manifest (its columns are tag, name, "
        "recovered_on, recovered_at, identification, seal)");
  CHECK(ManifestError(ManifestKind::kPrisoners, "\n\n" + Remains("")) ==
        "line 3, column 1: not a column of a prisoners manifest (its columns are service_number, "
        "surname, first_names, date_of_birth, rank, category, consent)");
  // Quoted and padded header cells are fine.
  CHECK(ParseManifestCsv(ManifestKind::kRemains,
                         "\"tag\", name ,recovered_on,\"recovered_at\",identification,seal\n"
                         "UA-1,,2023-05-01,Field,uniform,\n")
            .has_value());
}

TEST_CASE("a duplicate record id in a manifest is refused naming both lines") {
  CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform,\n"
                     "UA-2,,2023-05-01,Field,uniform,\n"
                     "UA-3,,2023-05-01,Field,uniform,\n"
                     "UA-2,,2023-05-01,Field,uniform,\n") ==
        "line 5, column 1 (tag): the record id duplicates line 3");
  CHECK(ManifestError(ManifestKind::kPrisoners,
                      "surname,first_names,service_number,date_of_birth,rank,category,consent\n"
                      "Ivanov,Pyotr,RU-1,1999-01-01,Private,other,yes\n"
                      "Petrov,Ivan,RU-1,1998-01-01,Private,other,no\n") ==
        "line 3, column 3 (service_number): the record id duplicates line 2");
  // Ids are compared exactly, after trimming unquoted cells.
  CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform,\nua-1,,2023-05-01,Field,uniform,\n").empty());
  CHECK(RemainsError("UA-1,,2023-05-01,Field,uniform,\n UA-1 ,,2023-05-01,Field,uniform,\n") ==
        "line 3, column 1 (tag): the record id duplicates line 2");
}

TEST_CASE("an empty manifest or arrival list is refused") {
  CHECK(RemainsError("") == "the manifest has no records");
  CHECK(RemainsError("\n\n") == "the manifest has no records");
  CHECK(PrisonersError("") == "the manifest has no records");
  CHECK(ArrivalsError(Arrivals("")) == "the arrival list has no rows");
  CHECK(ArrivalsError("") == "line 1: no header line (the file is empty)");
}

TEST_CASE("manifest and arrival list errors never contain a planted cell value") {
  const std::string c = "CANARY-SURNAME-7731";
  const std::vector<std::string> prisoners = {
      // Each row has one error, with the canary somewhere in the row.
      c + ",Ivanov,Pyotr,1999-01-01,Private,other,yes\n" + c + ",Petrov,Ivan,1999-01-01,Private,other,yes\n",
      "RU-1," + c + ",Pyotr,1999-01-01,Private,other,maybe\n",
      "RU-1," + c + "\x01,Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1," + c + "\xFF,Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1," + c + std::string(300, 'x') + ",Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1,\"" + c + std::string(300, 'x') + "\",Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1," + c + "\",Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1,\"" + c + "\"x,Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1,\"" + c + ",Pyotr,1999-01-01,Private,other,yes\n",
      "RU-1," + c + ",Pyotr,1999-01-01,Private,other\n",
      "RU-1," + c + ",Pyotr,1999-01-01,Private,other,yes,extra\n",
      "RU-1," + c + ",Pyotr," + c + ",Private,other,yes\n",
      "RU-1," + c + ",Pyotr,1999-01-01,Private," + c + ",yes\n",
      c + std::string(60, 'x') + ",Ivanov,Pyotr,1999-01-01,Private,other,yes\n",
  };
  for (const std::string& rows : prisoners) {
    const std::string error = PrisonersError(rows);
    CAPTURE(error);
    CHECK_FALSE(error.empty());
    CHECK(error.find("CANARY") == std::string::npos);
  }
  // A file without its header: the first record is read as the header.
  const std::string headerless = "RU-1," + c + ",Pyotr,1999-01-01,Private,other,yes\n";
  CHECK(ManifestError(ManifestKind::kPrisoners, headerless).find("CANARY") == std::string::npos);
  CHECK(RemainsError("UA-1," + c + ",2023-05-01,Field,unidentified,\n").find("CANARY") == std::string::npos);
  CHECK(ArrivalsError(Arrivals("A1," + c + ",unidentified\n")).find("CANARY") == std::string::npos);
  CHECK(ArrivalsError(Arrivals("A1," + c + ",identified\nA2," + c + ",identified\n")).find("CANARY") ==
        std::string::npos);

  ManifestRecord bad{ManifestKind::kPrisoners, {"RU-1", c, "Pyotr", c, "Private", "other", "yes"}};
  const Status s = CheckManifestRecord(bad);
  CHECK(s.message() == "field 4 (date_of_birth): not a date of the form YYYY-MM-DD");
}

TEST_CASE("the canonical bytes of a known manifest record") {
  const ManifestRecord r{ManifestKind::kRemains,
                         {"UA-7", "", "2023-05-01", "Field", "uniform", "S1"}};
  const std::string expected = std::string("parley/record/v1") +
      std::string("\x01", 1) +
      std::string("\x00\x00\x00\x04", 4) + "UA-7" +
      std::string("\x00\x00\x00\x00", 4) +
      std::string("\x00\x00\x00\x0a", 4) + "2023-05-01" +
      std::string("\x00\x00\x00\x05", 4) + "Field" +
      std::string("\x00\x00\x00\x07", 4) + "uniform" +
      std::string("\x00\x00\x00\x02", 4) + "S1";
  CHECK(CanonicalRecord(r) == expected);
  CHECK(CanonicalRecord(r).size() == 16 + 1 + 6 * 4 + 4 + 10 + 5 + 7 + 2);

  // A prisoners record carries kind byte 2; a 300-byte field a 4-byte length.
  ManifestRecord p{ManifestKind::kPrisoners, {"RU-1", std::string(300, 'a'), "", "", "", "", ""}};
  const std::string bytes = CanonicalRecord(p);
  CHECK(bytes.substr(16, 1) == std::string("\x02", 1));
  CHECK(bytes.substr(25, 4) == std::string("\x00\x00\x01\x2c", 4));

  // Shifting a byte between neighbouring fields changes the bytes.
  ManifestRecord shifted = r;
  shifted.fields[0] = "UA-";
  shifted.fields[1] = "7";
  CHECK(CanonicalRecord(shifted) != CanonicalRecord(r));
}

TEST_CASE("CheckManifestRecord applies the import's rules without line numbers") {
  const ManifestRecord good{ManifestKind::kRemains, {"UA-1", "", "2023-05-01", "Field", "uniform", ""}};
  CHECK(CheckManifestRecord(good).ok());

  ManifestRecord r = good;
  r.fields.pop_back();
  CHECK(CheckManifestRecord(r).message() == "a remains record has 5 fields, not 6");
  r = good;
  r.fields[4] = "unidentified";
  r.fields[1] = "Ivan";
  CHECK(CheckManifestRecord(r).message() == "field 2 (name): must be empty when identification is unidentified");
  r = good;
  r.fields[3] = std::string(257, 'a');
  CHECK(CheckManifestRecord(r).message() == "field 4 (recovered_at): longer than 256 bytes");
  r = good;
  r.fields[0] = "\xFF";
  CHECK(CheckManifestRecord(r).message() == "field 1 (tag): not valid UTF-8");
  r = good;
  r.kind = static_cast<ManifestKind>(9);
  CHECK(CheckManifestRecord(r).code() == Code::kInvalidArgument);
}

TEST_CASE("an arrival list parses like a manifest, with record ids per status") {
  Result<std::vector<Arrival>> r = ParseArrivalsCsv(
      "status,arrival_id,record_id\r\n"
      "identified,A1,UA-1\r\n"
      "unidentified,A2,\r\n"
      "other_side,A3,RU-9\r\n"
      "other_side,A4,\r\n");
  REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].arrival_id == "A1");
  CHECK((*r)[0].record_id == "UA-1");
  CHECK((*r)[0].status == Arrival::Status::kIdentified);
  CHECK((*r)[1].status == Arrival::Status::kUnidentified);
  CHECK((*r)[1].record_id.empty());
  CHECK((*r)[2].status == Arrival::Status::kOtherSide);
  CHECK((*r)[2].record_id == "RU-9");
  CHECK((*r)[3].record_id.empty());
}

TEST_CASE("arrival list errors name the line and column like manifest errors") {
  CHECK(ArrivalsError(Arrivals("A1,,identified\n")) ==
        "line 2, column 2 (record_id): required when status is identified");
  CHECK(ArrivalsError(Arrivals("A1,UA-1,unidentified\n")) ==
        "line 2, column 2 (record_id): must be empty when status is unidentified");
  CHECK(ArrivalsError(Arrivals("A1,UA-1,found\n")) ==
        "line 2, column 3 (status): not one of identified, unidentified, other_side");
  CHECK(ArrivalsError(Arrivals(",UA-1,identified\n")) == "line 2, column 1 (arrival_id): required, but empty");
  CHECK(ArrivalsError(Arrivals("A1,UA-1,identified\nA2,UA-2,identified\nA1,UA-3,identified\n")) ==
        "line 4, column 1 (arrival_id): the arrival id duplicates line 2");
  CHECK(ArrivalsError(Arrivals("A1,UA-1,identified\nA2,,unidentified\nA3,UA-1,other_side\n")) ==
        "line 4, column 2 (record_id): the record id duplicates line 2");
  CHECK(ArrivalsError(Arrivals("A1,\"UA-1,identified\n")) ==
        "line 2, column 2 (record_id): a quoted cell is not closed");
  CHECK(ArrivalsError("arrival_id,record_id\nA1,UA-1\n") == "line 1: the header has no column status");
  CHECK(ArrivalsError("arrival_id,record,status\n") ==
        "line 1, column 2: not a column of an arrival list (its columns are arrival_id, record_id, status)");
}

TEST_CASE("reconciling 25 arrivals with a manifest of 20 gives each figure") {
  std::string manifest_csv(kRemainsHeader);
  for (int i = 1; i <= 20; ++i) {
    manifest_csv += "UA-" + std::to_string(i) + ",,2023-05-01,Field,uniform,\n";
  }
  const auto records = ParseOk(ManifestKind::kRemains, manifest_csv);
  std::vector<std::string> ids;
  for (const ManifestRecord& r : records) ids.push_back(r.id());

  // 17 of the 20 arrive identified (UA-18..UA-20 are missing), two identified
  // by ids not on the manifest, five unidentified, one of the other side.
  std::string arrivals_csv(kArrivalsHeader);
  int n = 0;
  auto add = [&](const std::string& record_id, const std::string& status) {
    arrivals_csv += "A" + std::to_string(++n) + "," + record_id + "," + status + "\n";
  };
  for (int i = 1; i <= 9; ++i) add("UA-" + std::to_string(i), "identified");
  add("UA-99", "identified");
  for (int i = 0; i < 5; ++i) add("", "unidentified");
  for (int i = 10; i <= 17; ++i) add("UA-" + std::to_string(i), "identified");
  add("XX-1", "identified");
  add("RU-4", "other_side");
  Result<std::vector<Arrival>> arrivals = ParseArrivalsCsv(arrivals_csv);
  REQUIRE_MESSAGE(arrivals.has_value(), arrivals.status().ToString());
  REQUIRE(arrivals->size() == 25);

  const ReconciliationResult r = Reconcile(ids, *arrivals);
  CHECK(r.received == 25);
  CHECK(r.figures.matched() == 17);
  CHECK(r.figures.missing() == 3);
  CHECK(r.figures.not_on_manifest() == 2);
  CHECK(r.figures.unidentified() == 5);
  CHECK(r.figures.other_side() == 1);

  using O = ReconciliationLine::Outcome;
  REQUIRE(r.detail.size() == 28);
  CHECK(r.detail[0].outcome == O::kMatched);
  CHECK(r.detail[0].arrival_id == "A1");
  CHECK(r.detail[0].record_id == "UA-1");
  CHECK(r.detail[9].outcome == O::kNotOnManifest);
  CHECK(r.detail[9].record_id == "UA-99");
  CHECK(r.detail[10].outcome == O::kUnidentified);
  CHECK(r.detail[10].record_id.empty());
  CHECK(r.detail[23].outcome == O::kNotOnManifest);
  CHECK(r.detail[24].outcome == O::kOtherSide);
  CHECK(r.detail[24].arrival_id == "A25");
  CHECK(r.detail[24].record_id == "RU-4");
  for (int i = 0; i < 3; ++i) {
    CHECK(r.detail[25 + i].outcome == O::kMissing);
    CHECK(r.detail[25 + i].arrival_id.empty());
    CHECK(r.detail[25 + i].record_id == "UA-" + std::to_string(18 + i));
  }
}

TEST_CASE("a manifest record named only by an other-side arrival is still missing") {
  const std::vector<std::string> ids = {"UA-1", "UA-2"};
  const std::vector<Arrival> arrivals = {{"A1", "UA-1", Arrival::Status::kOtherSide},
                                         {"A2", "UA-2", Arrival::Status::kIdentified}};
  const ReconciliationResult r = Reconcile(ids, arrivals);
  CHECK(r.figures.other_side() == 1);
  CHECK(r.figures.matched() == 1);
  CHECK(r.figures.missing() == 1);
  REQUIRE(r.detail.size() == 3);
  CHECK(r.detail[2].record_id == "UA-1");

  // Against the REQUIRES: a repeated identified id matches once.
  const std::vector<Arrival> twice = {{"A1", "UA-1", Arrival::Status::kIdentified},
                                      {"A2", "UA-1", Arrival::Status::kIdentified}};
  const ReconciliationResult t = Reconcile(ids, twice);
  CHECK(t.figures.matched() == 1);
  CHECK(t.figures.not_on_manifest() == 1);
  CHECK(t.figures.missing() == 1);
}

TEST_CASE("a manifest of 100,000 records parses and reconciles in well under a second") {
  std::string csv(kPrisonersHeader);
  std::string arrivals(kArrivalsHeader);
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "RU-" + std::to_string(i);
    csv += id + ",Ivanov,Pyotr,1999-01-01,Private,other,yes\n";
    if (i % 10 != 0) arrivals += "A" + std::to_string(i) + "," + id + ",identified\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto records = ParseOk(ManifestKind::kPrisoners, csv);
  Result<std::vector<Arrival>> a = ParseArrivalsCsv(arrivals);
  REQUIRE(a.has_value());
  std::vector<std::string> ids;
  for (const ManifestRecord& r : records) ids.push_back(r.id());
  const ReconciliationResult r = Reconcile(ids, *a);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.figures.matched() == 90000);
  CHECK(r.figures.missing() == 10000);
  CHECK(elapsed < std::chrono::seconds(5));  // generous: sanitizer and debug builds
}

}  // namespace
}  // namespace parley
