#include "gateway/session/buffer_pool.hpp"

namespace dockgate::session {

namespace {

// Bounded: a burst of concurrent transfers does not pin its peak memory forever.
constexpr std::size_t max_free_buffers = 32;

struct free_list {
    std::vector<char*> buffers;
    ~free_list() {
        for (char* b : buffers)
            delete[] b;
    }
};

thread_local free_list pool;

} // namespace

void pooled_buffer_deleter::operator()(char* p) const noexcept {
    if (pool.buffers.size() < max_free_buffers) {
        try {
            pool.buffers.push_back(p);
            return;
        } catch (...) {
        }
    }
    delete[] p;
}

relay_buffer take_relay_buffer() {
    if (!pool.buffers.empty()) {
        char* p = pool.buffers.back();
        pool.buffers.pop_back();
        return relay_buffer(p);
    }
    return relay_buffer(new char[relay_buffer_size]);
}

} // namespace dockgate::session
