// Allocation-failure injection for the test binary: set
// cachetick_test::fail_new_at = k and the k-th operator new on this thread
// from then on throws std::bad_alloc (0: off, the default). Defined, with
// the replacement operator new/delete, in fail_new_test.cpp.
#pragma once

namespace cachetick_test {
extern thread_local long fail_new_at;
}
