// A thin RAII layer over the SQLite C API for the results store: a connection and prepared statements whose
// every failure becomes lmzip::Error naming the database file. Not thread-safe: one connection per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace lmzip::sqlite {

class Statement;

class Database {
 public:
  // Opens (creating when `create`) the file; sets a busy timeout so that concurrent writers wait, not fail.
  Database(const std::string& path, bool create, int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);  // one or more statements without results
  Statement prepare(const std::string& sql);
  int64_t last_insert_rowid() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }
  [[noreturn]] void fail(const std::string& what, int code) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A prepared statement. bind() positions are 1-based as in SQL; step() returns true while a row is available.
class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::optional<double> value);  // nullopt binds NULL
  Statement& bind_null(int index);
  bool step();
  void run() { while (step()) {} }
  void reset();

  std::string text(int column) const;
  int64_t integer(int column) const;
  double real(int column) const;
  bool is_null(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE ... COMMIT: takes the write lock up front (so two writers never deadlock on a lock upgrade)
// and rolls back when destroyed without commit() (an exception, an early return).
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace lmzip::sqlite
