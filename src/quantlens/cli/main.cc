#include <cstdio>
int main(int argc, char** argv) {
  std::fprintf(stderr, "quantlens: command line in progress\n");
  return 2;
}
