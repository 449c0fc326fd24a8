// Hostile .npy files: every malformed header, lying size, unsupported layout or non-regular file is a
// qf::Error whose one line names the file; nothing crashes, blocks, or allocates what the bytes do not hold.
// Cases that could hang (FIFOs, devices) or allocate gigabytes run in a forked child under alarm() and an
// address-space limit, so a regression fails the test instead of stalling or exhausting the machine.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "error_of.hpp"
#include "io/npy.hpp"
#include "io/npy_header.hpp"
#include "util/checked_size.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;

// Byte image of a .npy with the given version, header dict and data; the dict is padded as numpy pads it.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t preamble = major == 1 ? 10 : 12;
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < preamble - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string dict_of(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

using test::error_of;

void expect_one_line_naming(const std::string& message, const std::string& culprit, const std::string& detail) {
  EXPECT_NE(message.find(culprit), std::string::npos) << message;
  EXPECT_NE(message.find(detail), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// Runs `body` in a forked child with a 60 s alarm and an address space of what the parent uses plus
// `extra_mib`; returns the child's exit code, or 128 + the signal that ended it (SIGALRM: it hung).
int run_in_child(const std::function<int()>& body, uint64_t extra_mib = 1024) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(60);
    long pages = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages) {
      const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (extra_mib << 20);
      const rlimit rl{limit, limit};
      setrlimit(RLIMIT_AS, &rl);
    }
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class NpyHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qf_npy_hostile_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }
  fs::path dir_;
};

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(NpyHostile, ParseNpyRoundTripsWhatWriteNpyWrites) {
  Tensor f = Tensor::from_vector<float>({2, 3}, {1.5f, -2.f, 0.f, 3.25f, 1e-3f, -7.f});
  Tensor i = Tensor::from_vector<int64_t>({4}, {1, -2, int64_t{1} << 40, 0});
  Tensor b = Tensor::from_vector<bool>({3}, {true, false, true});
  Tensor u = Tensor::from_vector<uint8_t>({1, 2, 2}, {0, 255, 7, 9});
  Tensor s = Tensor::scalar<double>(2.5);
  Tensor empty(DType::Float16, {0, 5});
  for (const Tensor* t : {&f, &i, &b, &u, &s, &empty}) {
    write_npy(dir_ / "a.npy", *t);
    const Tensor back = parse_npy(file_bytes(dir_ / "a.npy"), "a.npy");
    EXPECT_EQ(back.dtype(), t->dtype());
    EXPECT_EQ(back.shape(), t->shape());
    ASSERT_EQ(back.nbytes(), t->nbytes());
    EXPECT_EQ(std::memcmp(back.raw(), t->raw(), t->nbytes()), 0) << dtype_name(t->dtype());
  }
}

TEST_F(NpyHostile, ParseNpyReadsFormats2And3AndTrailingBytes) {
  const std::string data(8, '\x01');
  for (int major : {2, 3}) {
    const Tensor t = parse_npy(npy_bytes(dict_of("<i4", "(2,)"), data, major), "v.npy");
    EXPECT_EQ(t.shape(), (Shape{2}));
    EXPECT_EQ(t.data<int32_t>()[1], 0x01010101);
  }
  // numpy reads exactly the elements the shape names; trailing bytes are ignored.
  EXPECT_EQ(parse_npy(npy_bytes(dict_of("|u1", "(3,)"), "abcdef"), "t.npy").numel(), 3);
  // Both quote styles, no trailing comma, Python 2 'L' dims: all legal dict literals.
  const std::string dict = "{\"descr\": \"<f4\", \"shape\": (1L, 2), \"fortran_order\": False}";
  EXPECT_EQ(parse_npy(npy_bytes(dict, std::string(8, '\0')), "q.npy").shape(), (Shape{1, 2}));
}

TEST_F(NpyHostile, EveryTruncationOfAValidFileIsAnError) {
  write_npy(dir_ / "a.npy", Tensor::from_vector<float>({2, 2}, {1.f, 2.f, 3.f, 4.f}));
  const std::string bytes = file_bytes(dir_ / "a.npy");
  for (size_t n = 0; n < bytes.size(); ++n)
    expect_one_line_naming(error_of([&] { parse_npy(std::string_view(bytes).substr(0, n), "cut.npy"); }), "cut.npy",
                           "");
}

struct BadHeader {
  std::string bytes;
  std::string detail;  // what the message must say besides the file name
};

std::vector<BadHeader> bad_headers() {
  const std::string f4 = std::string(16, '\0');
  std::string v2_huge_len = "\x93NUMPY\x02";
  v2_huge_len += std::string("\0\xff\xff\xff\xff", 5);
  std::string v1_len_past_end = "\x93NUMPY\x01";
  v1_len_past_end += std::string("\0\xf0\x00{'descr'", 10);
  return {
      {"", "bad magic"},
      {"\x93NUMPX\x01", "bad magic"},
      {npy_bytes(dict_of("<f4", "(2,)"), f4, 1).replace(6, 1, "\x04"), "unsupported .npy version 4"},
      {v2_huge_len, "beyond the limit"},
      {v1_len_past_end, "runs past the end of the file"},
      {npy_bytes("{'descr': '<f4', 'shape': (2,), }", f4), "needs the keys"},
      {npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4), "duplicate key"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4), "unexpected key"},
      {npy_bytes("{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}", f4), "bad .npy header"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", f4), "expected ','"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", f4), "text after the dict"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", f4), "True or False"},
      {npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", f4), "structured"},
      {npy_bytes(dict_of(">f4", "(2,)"), f4), "big-endian"},
      {npy_bytes(dict_of("<c8", "(2,)"), f4), "unsupported .npy dtype '<c8'"},
      {npy_bytes(dict_of("O", "(2,)"), f4), "unsupported .npy dtype"},
      {npy_bytes(dict_of("<f4", "(2, 2)", "True"), f4), "Fortran-order"},
      {npy_bytes(dict_of("<f4", "(2, -1)"), f4), "negative dimension"},
      {npy_bytes(dict_of("<f4", "(2, x)"), f4), "expected a dimension"},
      {npy_bytes(dict_of("<f4", "(99999999999999999999,)"), f4), "overflows 64 bits"},
      {npy_bytes(dict_of("<f4", "(4294967296, 4294967296, 8)"), f4), "overflows 64 bits"},
      {npy_bytes(dict_of("<f4", "(1000000000, 1000000000)"), f4), "GiB tensor limit"},
      {npy_bytes(dict_of("<f4", "(0, 4294967296, 4294967296)"), f4), "non-zero dims"},
      {npy_bytes(dict_of("<f4", "(3, 2)"), f4), "truncated"},
  };
}

TEST_F(NpyHostile, MalformedHeadersAreOneLineErrorsNamingTheOrigin) {
  for (const BadHeader& bad : bad_headers()) {
    SCOPED_TRACE(bad.detail);
    expect_one_line_naming(error_of([&] { parse_npy(bad.bytes, "bad.npy"); }), "bad.npy", bad.detail);
    const fs::path p = write("bad.npy", bad.bytes);
    expect_one_line_naming(error_of([&] { read_npy(p); }), p.string(), bad.detail);
  }
}

TEST_F(NpyHostile, RankBeyondTheLimitIsRefused) {
  std::string shape = "(";
  for (size_t i = 0; i <= kMaxTensorRank; ++i) shape += "1, ";
  shape += ")";
  expect_one_line_naming(error_of([&] { parse_npy(npy_bytes(dict_of("<f4", shape), "abcd"), "r.npy"); }), "r.npy",
                         "rank 65");
}

TEST_F(NpyHostile, HeaderTextInMessagesCannotBreakTheLine) {
  const std::string bytes = npy_bytes(dict_of("<f4\n\x1b[2J", "(1,)"), "abcd");
  const std::string message = error_of([&] { parse_npy(bytes, "esc.npy"); });
  expect_one_line_naming(message, "esc.npy", "unsupported .npy dtype");
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
}

// A 128-byte file whose header claims 2 GB of float32: refused as truncated before the array is
// allocated. The child may map at most 512 MiB more than the parent, so allocating first fails the test.
TEST_F(NpyHostile, SmallFileClaimingGigabytesIsRefusedBeforeAllocating) {
  const fs::path p = write("big.npy", npy_bytes(dict_of("<f4", "(500000000,)"), ""));
  ASSERT_EQ(fs::file_size(p), 128u);
  EXPECT_EQ(run_in_child(
                [&] {
                  try {
                    read_npy(p);
                  } catch (const Error& e) {
                    return std::string(e.what()).find("truncated") != std::string::npos ? 0 : 1;
                  } catch (const std::bad_alloc&) {
                    return 2;
                  }
                  return 3;
                },
                512),
            0);
}

TEST_F(NpyHostile, FifoIsRefusedWithoutBlocking) {
  const fs::path p = dir_ / "input.npy";
  ASSERT_EQ(mkfifo(p.c_str(), 0600), 0);
  EXPECT_EQ(run_in_child([&] {
              const std::string m = error_of([&] { read_npy(p); });
              return m.find(p.string()) != std::string::npos && m.find("FIFO") != std::string::npos ? 0 : 1;
            }),
            0);
}

TEST_F(NpyHostile, DirectoriesAndDevicesAreRefused) {
  fs::create_directories(dir_ / "folder.npy");
  expect_one_line_naming(error_of([&] { read_npy(dir_ / "folder.npy"); }), "folder.npy", "directory");
  // /dev/zero would never end if read as a file.
  fs::create_symlink("/dev/zero", dir_ / "zero.npy");
  EXPECT_EQ(run_in_child([&] {
              const std::string m = error_of([&] { read_npy(dir_ / "zero.npy"); });
              return m.find("zero.npy") != std::string::npos && m.find("device") != std::string::npos ? 0 : 1;
            }),
            0);
}

TEST_F(NpyHostile, MissingFileNamesIt) {
  expect_one_line_naming(error_of([&] { read_npy(dir_ / "nope.npy"); }), "nope.npy", "No such file");
}

TEST_F(NpyHostile, BoolBytesAreNormalised) {
  const Tensor t = parse_npy(npy_bytes(dict_of("|b1", "(3,)"), std::string("\x00\x02\xff", 3)), "b.npy");
  EXPECT_EQ(static_cast<const unsigned char*>(t.raw())[0], 0);
  EXPECT_EQ(static_cast<const unsigned char*>(t.raw())[1], 1);
  EXPECT_EQ(static_cast<const unsigned char*>(t.raw())[2], 1);
}

}  // namespace
}  // namespace qf
