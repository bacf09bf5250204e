// fuzz_replay_main.cc: runs a libFuzzer harness over saved inputs, without
// libFuzzer, so every fuzzer's corpus is also a regression test under gcc.
//
// Usage: <binary> PATH...   Each PATH is a file or a directory (walked
// recursively). Calls LLVMFuzzerInitialize (if the harness defines it) once,
// then LLVMFuzzerTestOneInput once per file, each input in its own exactly
// sized heap buffer so ASan catches over-reads. Exits 0 after printing how many
// inputs ran; exits 1 if a path cannot be read or no input was found, so an
// empty or missing corpus fails the test instead of passing vacuously. A
// harness whose oracle fails aborts, which fails the test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // An exact-size copy: reading data[size] is a heap overflow ASan reports.
  auto copy = std::make_unique<uint8_t[]>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(root, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(
               root, std::filesystem::directory_options::follow_directory_symlink, error)) {
        if (!entry.is_directory()) files.push_back(entry.path());
      }
      if (error) {
        std::fprintf(stderr, "fuzz replay: cannot list %s: %s\n", argv[i], error.message().c_str());
        return 1;
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        if (!RunFile(file)) return 1;
        ++inputs;
      }
    } else {
      if (!RunFile(root)) return 1;
      ++inputs;
    }
  }
  if (inputs == 0) {
    std::fprintf(stderr, "fuzz replay: no inputs found in the given paths\n");
    return 1;
  }
  std::printf("fuzz replay: %zu inputs ran cleanly\n", inputs);
  return 0;
}
