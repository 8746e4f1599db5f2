// The CLI layer: a registry of subcommands (one file each, registering itself) and a small argument parser.
// Commands parse argv, call the library, print results to stdout and progress/logs to stderr.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lmzip::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `lmzip --help`
  std::function<int(int argc, char** argv)> run;  // argv[0] is the subcommand name
};

// Registers a subcommand at static-initialization time: `static Registration reg{{"info", "...", run_info}};`
struct Registration {
  explicit Registration(Command command);
};

const std::map<std::string, Command>& commands();

// The thread count to use for `-t N`: 0 means every hardware thread; more than 4 threads per hardware thread
// only slows a run down (and thousands exhaust the process table), so it is capped there with a warning.
int resolve_threads(long long requested);

// Before a command writes `output` from `inputs` (gzip's rules): never onto one of its inputs (the same file,
// whatever the name); an existing regular file only with --force. "-" and devices/FIFOs are always fine.
// Throws lmzip::Error naming the file.
void check_overwrite(const std::string& output, const std::vector<std::string>& inputs, bool force);

// A declarative argument parser: options are declared with pointers to where their values go.
// `--name VALUE`, `--name=VALUE`, `-n VALUE`, flags `--name`; `--` ends options; `-` is a positional.
// Numbers are never negative: a negative value is refused with the option named (no option gives one a meaning).
class ArgParser {
 public:
  ArgParser(std::string usage, std::string description);

  void flag(const std::string& names, bool* out, const std::string& help);
  void option(const std::string& names, const std::string& metavar, std::string* out, const std::string& help);
  void option(const std::string& names, const std::string& metavar, int* out, const std::string& help);
  void option(const std::string& names, const std::string& metavar, long long* out, const std::string& help);
  void option(const std::string& names, const std::string& metavar, double* out, const std::string& help);
  // Repeatable option: each occurrence appends.
  void option(const std::string& names, const std::string& metavar, std::vector<std::string>* out,
              const std::string& help);
  void positionals(const std::string& metavar, std::vector<std::string>* out, size_t min_count, size_t max_count,
                   const std::string& help);

  // Parses argv (argv[0] is the command name). Returns false when --help was printed (the caller exits 0);
  // throws lmzip::UsageError on a bad command line.
  bool parse(int argc, char** argv);
  std::string help() const;

 private:
  struct Option {
    std::vector<std::string> names;  // "--window", "-w"
    std::string metavar;             // empty for flags
    std::string help;
    std::function<void(const std::string&)> set;
  };
  const Option* lookup(const std::string& name) const;
  std::string usage_;
  std::string description_;
  std::vector<Option> options_;
  std::string pos_metavar_, pos_help_;
  std::vector<std::string>* pos_out_ = nullptr;
  size_t pos_min_ = 0, pos_max_ = 0;
};

// True when stderr is a terminal (progress bars are drawn only then).
bool stderr_is_terminal();

}  // namespace lmzip::cli
