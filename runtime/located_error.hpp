#pragma once
// An error about one named place: a configuration key, a file, an entry in
// it. what() is "where: problem"; the parts stay apart for callers that
// word the message their own way.
#include <stdexcept>
#include <string>

namespace herald {

class located_error : public std::runtime_error {
 public:
  located_error(std::string where, std::string problem)
      : std::runtime_error(where + ": " + problem), where_(std::move(where)), problem_(std::move(problem)) {}
  const std::string& where() const { return where_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string where_;
  std::string problem_;
};

}  // namespace herald
