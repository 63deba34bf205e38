#include "apps/interrupt.h"

#include <unistd.h>

#include <csignal>

namespace cnnmem {

namespace {

volatile std::sig_atomic_t g_received = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

// Only async-signal-safe calls: write(2) and _exit(2).
extern "C" void on_interrupt(int sig) {
  if (g_received != 0) {
    constexpr char kNow[] = "\ncnnmem: interrupted again: exiting now, without saving\n";
    (void)!::write(STDERR_FILENO, kNow, sizeof kNow - 1);
    ::_exit(128 + sig);
  }
  g_received = sig;
  constexpr char kStep[] =
      "\ncnnmem: interrupted: finishing the current step and saving (interrupt again to exit "
      "at once)\n";
  (void)!::write(STDERR_FILENO, kStep, sizeof kStep - 1);
}

}  // namespace

InterruptScope::InterruptScope() {
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &g_previous_int);
  ::sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptScope::~InterruptScope() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
}

int InterruptScope::received() { return g_received; }

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "signal " + std::to_string(sig);
  }
}

}  // namespace cnnmem
