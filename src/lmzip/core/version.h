#pragma once

namespace lmzip {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace lmzip
