#pragma once
// Relay buffers are taken when a request starts moving bytes and given back when it ends, so an
// idle keep-alive connection holds none. Each worker thread keeps its own small free list
// (sessions never change thread), which makes taking and returning a buffer lock-free.

#include <cstddef>
#include <memory>
#include <vector>

namespace dockgate::session {

inline constexpr std::size_t relay_buffer_size = 64 * 1024;

struct pooled_buffer_deleter {
    void operator()(char* p) const noexcept;
};
using relay_buffer = std::unique_ptr<char[], pooled_buffer_deleter>;

/// A relay_buffer_size buffer from this thread's free list (or a new one).
relay_buffer take_relay_buffer();

} // namespace dockgate::session
