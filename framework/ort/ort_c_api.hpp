// The part of ONNX Runtime's C ABI that qforge calls, declared here because Debian ships no ONNX Runtime
// header. The library exports one function, OrtGetApiBase(); it hands out a table of function pointers
// (OrtApi) whose members are only ever appended, so a table requested at API version N has, at fixed
// positions, every member that existed in version N. We declare the positions up to the last member we use
// (ReleaseSessionOptions, the 101st); the members we never call are kept as untyped slots so the positions
// stay right. Every function returning OrtStatus* returns nullptr on success; a non-null status carries the
// error and must be released.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

struct OrtEnv;
struct OrtStatus;
struct OrtMemoryInfo;
struct OrtSession;
struct OrtValue;
struct OrtRunOptions;
struct OrtTypeInfo;
struct OrtTensorTypeAndShapeInfo;
struct OrtSessionOptions;
struct OrtAllocator;

// The element types equal ONNX's TensorProto data types (and qf::DType) for the values 0..13.
using OrtElementType = int;
enum OrtLogLevel : int { kOrtLogVerbose = 0, kOrtLogInfo = 1, kOrtLogWarning = 2, kOrtLogError = 3, kOrtLogFatal = 4 };
enum OrtOptimizationLevel : int {
  kOrtOptimizeNone = 0,
  kOrtOptimizeBasic = 1,
  kOrtOptimizeExtended = 2,
  kOrtOptimizeAll = 99
};
enum OrtAllocatorKind : int { kOrtDeviceAllocator = 0, kOrtArenaAllocator = 1 };
enum OrtMemoryKind : int { kOrtMemoryDefault = 0 };

using OrtStatusPtr = OrtStatus*;
using OrtUnusedSlot = void*;  // a member we never call; function pointers and data pointers share one size here

struct OrtApi {
  OrtUnusedSlot create_status;   // 0
  OrtUnusedSlot get_error_code;  // 1
  const char* (*GetErrorMessage)(const OrtStatus* status) noexcept;
  OrtStatusPtr (*CreateEnv)(OrtLogLevel level, const char* log_id, OrtEnv** out) noexcept;
  OrtUnusedSlot env_slots_4_to_6[3];  // custom logger, telemetry on / off
  OrtStatusPtr (*CreateSession)(const OrtEnv* env, const char* model_path, const OrtSessionOptions* options,
                                OrtSession** out) noexcept;
  OrtUnusedSlot create_session_from_array;  // 8
  OrtStatusPtr (*Run)(OrtSession* session, const OrtRunOptions* run_options, const char* const* input_names,
                      const OrtValue* const* inputs, size_t input_count, const char* const* output_names,
                      size_t output_count, OrtValue** outputs) noexcept;
  OrtStatusPtr (*CreateSessionOptions)(OrtSessionOptions** out) noexcept;
  OrtUnusedSlot session_option_slots_11_to_22[12];  // file path, clone, execution mode, profiling, arenas, logs
  OrtStatusPtr (*SetSessionGraphOptimizationLevel)(OrtSessionOptions* options, OrtOptimizationLevel level) noexcept;
  OrtStatusPtr (*SetIntraOpNumThreads)(OrtSessionOptions* options, int threads) noexcept;
  OrtStatusPtr (*SetInterOpNumThreads)(OrtSessionOptions* options, int threads) noexcept;
  OrtUnusedSlot custom_op_slots_26_to_29[4];
  OrtStatusPtr (*SessionGetInputCount)(const OrtSession* session, size_t* out) noexcept;
  OrtStatusPtr (*SessionGetOutputCount)(const OrtSession* session, size_t* out) noexcept;
  OrtUnusedSlot session_info_slots_32_to_35[4];  // overridable initializers, type infos
  OrtStatusPtr (*SessionGetInputName)(const OrtSession* session, size_t index, OrtAllocator* allocator,
                                      char** out) noexcept;
  OrtStatusPtr (*SessionGetOutputName)(const OrtSession* session, size_t index, OrtAllocator* allocator,
                                       char** out) noexcept;
  OrtUnusedSlot run_option_slots_38_to_47[10];  // overridable initializer name, run options
  OrtUnusedSlot create_tensor_as_value;         // 48
  OrtStatusPtr (*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo* info, void* data, size_t bytes,
                                                 const int64_t* shape, size_t rank, OrtElementType type,
                                                 OrtValue** out) noexcept;
  OrtStatusPtr (*IsTensor)(const OrtValue* value, int* out) noexcept;
  OrtStatusPtr (*GetTensorMutableData)(OrtValue* value, void** out) noexcept;
  OrtUnusedSlot tensor_slots_52_to_59[8];  // strings, type info casts, building shape infos
  OrtStatusPtr (*GetTensorElementType)(const OrtTensorTypeAndShapeInfo* info, OrtElementType* out) noexcept;
  OrtStatusPtr (*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo* info, size_t* out) noexcept;
  OrtStatusPtr (*GetDimensions)(const OrtTensorTypeAndShapeInfo* info, int64_t* dims, size_t rank) noexcept;
  OrtUnusedSlot shape_slots_63_to_64[2];  // symbolic dimensions, element count
  OrtStatusPtr (*GetTensorTypeAndShape)(const OrtValue* value, OrtTensorTypeAndShapeInfo** out) noexcept;
  OrtUnusedSlot value_slots_66_to_68[3];  // type info, value type, general memory info
  OrtStatusPtr (*CreateCpuMemoryInfo)(OrtAllocatorKind allocator, OrtMemoryKind memory, OrtMemoryInfo** out) noexcept;
  OrtUnusedSlot memory_info_slots_70_to_75[6];  // compare, name, id, kinds, allocator alloc
  OrtStatusPtr (*AllocatorFree)(OrtAllocator* allocator, void* pointer) noexcept;
  OrtUnusedSlot allocator_get_info;  // 77
  OrtStatusPtr (*GetAllocatorWithDefaultOptions)(OrtAllocator** out) noexcept;
  OrtUnusedSlot misc_slots_79_to_91[13];  // free dimensions, maps and sequences, opaque values, custom kernels
  void (*ReleaseEnv)(OrtEnv* object) noexcept;
  void (*ReleaseStatus)(OrtStatus* object) noexcept;
  void (*ReleaseMemoryInfo)(OrtMemoryInfo* object) noexcept;
  void (*ReleaseSession)(OrtSession* object) noexcept;
  void (*ReleaseValue)(OrtValue* object) noexcept;
  OrtUnusedSlot release_run_options;  // 97
  OrtUnusedSlot release_type_info;    // 98
  void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo* object) noexcept;
  void (*ReleaseSessionOptions)(OrtSessionOptions* object) noexcept;
};

// What OrtGetApiBase() returns: the table for a requested version (nullptr when the library is older), and
// the library's release ("1.30.0").
struct OrtApiBase {
  const OrtApi* (*GetApi)(uint32_t version) noexcept;
  const char* (*GetVersionString)() noexcept;
};

using OrtGetApiBaseFunction = const OrtApiBase*() noexcept;

}  // extern "C"

// The positions the ABI fixes, checked where they are declared.
static_assert(offsetof(OrtApi, GetErrorMessage) == 2 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateSession) == 7 * sizeof(void*));
static_assert(offsetof(OrtApi, SetSessionGraphOptimizationLevel) == 23 * sizeof(void*));
static_assert(offsetof(OrtApi, SessionGetInputCount) == 30 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateTensorWithDataAsOrtValue) == 49 * sizeof(void*));
static_assert(offsetof(OrtApi, GetTensorElementType) == 60 * sizeof(void*));
static_assert(offsetof(OrtApi, GetTensorTypeAndShape) == 65 * sizeof(void*));
static_assert(offsetof(OrtApi, CreateCpuMemoryInfo) == 69 * sizeof(void*));
static_assert(offsetof(OrtApi, AllocatorFree) == 76 * sizeof(void*));
static_assert(offsetof(OrtApi, GetAllocatorWithDefaultOptions) == 78 * sizeof(void*));
static_assert(offsetof(OrtApi, ReleaseEnv) == 92 * sizeof(void*));
static_assert(offsetof(OrtApi, ReleaseSessionOptions) == 100 * sizeof(void*));
