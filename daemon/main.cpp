// herald: the push-notification dispatch daemon. All wiring is in daemon/.
#include <string>
#include <vector>

#include "daemon/commands.hpp"

int main(int argc, char** argv) { return herald::run_command(std::vector<std::string>(argv + 1, argv + argc)); }
