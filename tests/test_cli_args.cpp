// The netkit command line's argument parser (tools/cli/args.h): values, kinds, ranges, and
// every error message.
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include "tools/cli/args.h"

using namespace netkit;
using namespace netkit::cli;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

CommandSpec train_spec() {
  return {"train",
          {"MODEL.json"},
          {{"epochs", ArgKind::Integer, "rounds over the data", "N", 1},
           {"lr", ArgKind::Number, "learning rate", "X", 0},
           {"out", ArgKind::Text, "output model", "OUT.json"},
           {"json", ArgKind::Flag, "machine-readable summary", ""}},
          {"out"},
          "Trains a model."};
}

}  // namespace

TEST_CASE("CLI arguments: values of every kind, in both spellings", "[cli]") {
  const ParsedArgs a = parse_args(train_spec(), {"m.json", "--epochs", "3", "--lr=0.05", "--out", "o.json", "--json"});
  CHECK(a.positionals == std::vector<std::string>{"m.json"});
  CHECK(a.integer("epochs", 2) == 3);
  CHECK(a.number("lr", 0.1) == 0.05);
  CHECK(a.text("out", "") == "o.json");
  CHECK(a.has("json"));
  const ParsedArgs b = parse_args(train_spec(), {"--out", "o.json", "m.json"});
  CHECK(b.integer("epochs", 2) == 2);  // the fallback
  CHECK_FALSE(b.has("json"));
  CHECK(parse_args(train_spec(), {"--help"}).has("help"));
  CHECK_THAT(usage(train_spec()),
             Contains("usage: netkit train MODEL.json [--epochs N] [--lr X] --out OUT.json [--json]"));
  CHECK_THAT(usage(train_spec()), Contains("--epochs N"));
}

TEST_CASE("CLI arguments: every mistake names the option, what was expected and what was found", "[cli]") {
  const CommandSpec s = train_spec();
  CHECK_THROWS_AS(parse_args(s, {"m.json", "--epochs", "x", "--out", "o"}), OptionError);
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--epochs", "x", "--out", "o"}),
                    Equals("netkit train, option --epochs: not an integer; expected an integer >= 1, got \"x\""));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--epochs", "0", "--out", "o"}),
                    Equals("netkit train, option --epochs: out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--epochs", "2.5", "--out", "o"}), Contains("not an integer"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--lr", "-1", "--out", "o"}),
                    Equals("netkit train, option --lr: out of range; expected a number >= 0, got -1"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--lr", "nan", "--out", "o"}), Contains("not a number"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--epoch", "2", "--out", "o"}),
                    Equals("netkit train: unknown option \"--epoch\"; expected one of --epochs, --lr, --out, --json, "
                           "--help, got \"--epoch\""));
  CHECK_THROWS_WITH(
      parse_args(s, {"m.json", "--out"}),
      Equals("netkit train, option --out: missing value; expected a value, got the end of the arguments"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--json=1", "--out", "o"}), Contains("a flag takes no value"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "--out", "a", "--out", "b"}),
                    Equals("netkit train, option --out: given twice; expected one value, got a second \"b\""));
  CHECK_THROWS_WITH(
      parse_args(s, {"--out", "o"}),
      Equals("netkit train: missing argument MODEL.json; expected 1 arguments, got 0. See netkit train --help"));
  CHECK_THROWS_WITH(parse_args(s, {"m.json", "extra", "--out", "o"}),
                    Equals("netkit train: unexpected argument \"extra\"; expected MODEL.json, got \"extra\""));
  CHECK_THROWS_WITH(
      parse_args(s, {"m.json"}),
      Equals("netkit train: missing option --out; expected --out OUT.json, got none. See netkit train --help"));
}
