// One job in a forked child process, its answer sent back as JSON.
//
// Why a process per comparison group (the time backend): a row's figure
// must not depend on what ran before it. In one long process it did: the
// pool family's mimalloc/random_1m/64B read 24.3 ns in a full suite and 357
// ns with the pool and arena rows alone, because every allocator's heap,
// the page tables and glibc's caches carry the earlier rows' history. A
// child forked from a parent that has measured nothing starts every group
// from the same state, whatever the selection.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace cachetick {

struct ChildAnswer {
  bool ok = false;         // exited 0 and sent a JSON document
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  nlohmann::json answer;   // what it sent (ok)
  std::string why;         // !ok: "killed by signal 11 (Segmentation fault)", "exit 2", "no answer"
};

// Runs `job` in a child; the child exits with the code the job sets in
// `exit_code` (0 by default) after sending the job's JSON. An exception in
// the job exits 3 with its message on stderr. The parent's own SIGINT and
// SIGTERM reach the child too (same process group): the caller checks
// `interrupted` after a failed answer.
ChildAnswer run_in_child(const std::function<nlohmann::json(int& exit_code)>& job);

}  // namespace cachetick
