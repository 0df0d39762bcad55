// The "text" plugin of examples/lazy_plugins: a stand-in for a tokenizer
// library that reads its vocabulary when opened (200 ms).

#include <chrono>
#include <thread>

namespace {

struct Vocabulary {
  Vocabulary() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }
};

const Vocabulary vocabulary;

}  // namespace

// Counts the words (runs of characters other than spaces) in `text`.
extern "C" int text_count_words(const char* text) {
  int words = 0;
  bool in_word = false;
  for (const char* c = text; *c != '\0'; ++c) {
    const bool space = *c == ' ';
    words += !space && !in_word;
    in_word = !space;
  }
  return words;
}
