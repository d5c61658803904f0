// Fuzz target: .npz bytes (a zip of .npy members, stored or deflated) -> ReadNpz / ListNpz /
// ReadNpzMember, then the input file path of `quantlens run --input x.npz` (LoadInputFile) into a
// few model inputs. The readers open paths, so the bytes go to a memfd reached as /proc/self/fd/N.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "fuzz_inputs.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ql::fuzz::MemFile file;
  const std::string& path = file.Write(data, size);
  std::vector<std::string> skipped;
  auto all = ql::io::ReadNpz(path, &skipped);
  if (all.ok())
    for (const auto& named : *all) ql::fuzz::FeedArray(named.array, ql::fuzz::SampleInputSpecs()[0]);
  auto names = ql::io::ListNpz(path);
  if (names.ok() && !names->empty()) {
    auto first = ql::io::ReadNpzMember(path, (*names)[0]);
    (void)first;
  }
  // Feeding: as `run --input`, one spec per exec picked by the size (keeps each exec short).
  const auto& specs = ql::fuzz::SampleInputSpecs();
  auto fed = ql::io::LoadInputFile(path, specs[size % specs.size()], ql::io::ImageFeedOptions{});
  (void)fed;
  return 0;
}
