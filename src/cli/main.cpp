// lmzip: language models as compressors. Dispatches to the subcommand named by argv[1].
#include <cstdio>
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"
#include "lmzip/core/version.h"

namespace {

void print_overview() {
  std::cout << "lmzip " << lmzip::kVersion << ": language models as compressors\n\n"
            << "usage: lmzip COMMAND [options]   (lmzip COMMAND --help for a command's options)\n\ncommands:\n";
  for (const auto& [name, cmd] : lmzip::cli::commands()) {
    std::string pad = name.size() < 12 ? std::string(12 - name.size(), ' ') : " ";
    std::cout << "  " << name << pad << cmd.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_overview();
    return argc < 2 ? 2 : 0;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::cout << "lmzip " << lmzip::kVersion << "\n";
    return 0;
  }
  auto it = lmzip::cli::commands().find(name);
  if (it == lmzip::cli::commands().end()) {
    std::cerr << "lmzip: unknown command '" << lmzip::printable(name) << "' (see lmzip --help)\n";
    return 2;
  }
  // Messages quote file names, field values and file contents: printable() keeps raw bytes and terminal
  // escapes they may hold off the terminal.
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const lmzip::UsageError& e) {
    std::cerr << "lmzip " << name << ": " << lmzip::printable(e.what()) << " (see lmzip " << name << " --help)\n";
    return 2;
  } catch (const lmzip::Error& e) {
    std::cerr << "lmzip " << name << ": error: " << lmzip::printable(e.what()) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "lmzip " << name << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lmzip " << name << ": error: " << lmzip::printable(e.what()) << "\n";
    return 1;
  }
}
