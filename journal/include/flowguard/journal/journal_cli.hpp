// The core of `flowguard journal`: list, show, replay, requeue, prune and stats over a journal file,
// for cli/main.cpp to call with the words after "journal". Output goes to `out`, errors to `err`;
// nothing here exits the process or throws.
//
// Exit statuses: 0 done; 2 usage error (bad option, bad value, unknown id); 4 the journal could not
// be opened, read or written (missing, not a journal, newer schema, disk full, …). 1 and 3 are the
// checker's (findings, load errors) and are never returned.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace flowguard::journal {

inline constexpr int kJournalExitOk = 0;
inline constexpr int kJournalExitUsage = 2;
inline constexpr int kJournalExitIo = 4;

// `args` are the words after `flowguard journal`, e.g. {"list", "--db", "j.db", "--state", "failed"}.
int run_journal_command(std::vector<std::string> args, std::ostream& out, std::ostream& err);

}  // namespace flowguard::journal
