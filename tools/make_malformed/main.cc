// make_malformed OUT_DIR: writes the malformed-file set (the build puts it in build/<kind>/malformed).
//
// Every file is built here from scratch (flatbuffers object API for .tflite, the HDF5 C API for
// Keras .h5 and model.weights.h5, a small zip writer for .keras and .npz, hand-made PNG, JPEG and
// BMP encoders), starting from a valid file and breaking one thing on purpose. The output is the
// same bytes on every run: no timestamps (HDF5 object times off, fixed zip dates), no randomness.
//
// Layout of OUT_DIR:
//   models/              valid models and inputs the cases are run against (also baselines.tsv)
//   <format>/NNN_<what>.<ext>   one malformation each
//   expected.tsv         file, command, exit code, substring of the one-line error [, pending]
//   baselines.tsv        file, command, exit code 0: the valid files each case starts from
//
// In a command, {} is the case file; other paths are relative to OUT_DIR.
#include <cstdio>
#include <filesystem>

#include "common.h"

namespace make_malformed {
namespace {

void Baselines(CaseSet& set) {
  set.Baseline("models/fc.tflite", Pack(FcModel()), "run {} --input models/fc_input.npy");
  set.Baseline("models/fc_input.npy", FcInputNpy(), kRunFc);
  set.Baseline("models/qfc.tflite", Pack(QfcModel()), "run {} --input models/qfc_input.npy");
  set.Baseline("models/qfc_input.npy", Npy(NpyDict("|i1", "(1, 4)"), Bytes{1, 2, 3, 4}), kRunQfc);
  set.Baseline("models/image_add.tflite", Pack(ImageAddModel()), "run {} --input models/good.png");
  set.Baseline("models/chain.tflite", Pack(ChainModel()), "run {} --input models/fc_input.npy");
  set.Baseline("models/conv.tflite", Pack(ConvModel()), "run {} --input models/conv_input.npy");
  set.Baseline("models/conv_input.npy", Npy(NpyDict("<f4", "(1, 5, 5, 1)"), Floats(std::vector<float>(25, 1.0f))),
               "run models/conv.tflite --input {}");
  set.Baseline("models/good.npz", MakeZip({{"x.npy", FcInputNpy()}}), kRunFc);
  set.Baseline("models/good_deflated.npz", MakeZip({{"x.npy", FcInputNpy(), true}}), kRunFc);
  set.Baseline("models/good.h5", MakeKerasH5({}), "run {} --input models/fc_input.npy");
  {
    KerasH5 f;
    f.config = FunctionalConfig().dump();
    set.Baseline("models/good_functional.h5", MakeKerasH5(f), "run {} --input models/fc_input.npy");
  }
  set.Baseline("models/good.keras", MakeKeras(SeqConfig(true).dump(), MakeKeras3Weights({})),
               "run {} --input models/fc_input.npy");
  set.Baseline("models/good.png", GoodPng(), kRunImage);
  set.Baseline("models/good.jpg", Jpeg(GoodJpegParts()), kRunImage);
  set.Baseline("models/good.bmp", Bmp({}), kRunImage);
}


}  // namespace
}  // namespace make_malformed


using namespace make_malformed;  // NOLINT: the tool's own namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_malformed OUT_DIR\n  writes the malformed-file set (see cmake/malformed.cmake)\n");
    return 2;
  }
  const fs::path root = argv[1];
  std::error_code ec;
  // Start from an empty folder so a renamed case leaves no stale file behind.
  for (const char* sub : {"models", "tflite", "h5", "keras", "npy", "npz", "image"}) fs::remove_all(root / sub, ec);
  CaseSet set(root);
  Baselines(set);
  TfliteCases(set);
  H5Cases(set);
  KerasCases(set);
  NpyCasesTo(set);
  NpzCasesTo(set);
  ImageCases(set);
  set.Finish();
  return 0;
}
