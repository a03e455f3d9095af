#pragma once
// Internal to gateway/admission: how a decision stops to ask the daemon something and carries
// on once the caller has the answer, without any I/O of its own.
//
// A decision is written as plain sequential code in coroutines of type task<T>. When it needs a
// fact from the daemon it does `co_await channel.ask(lookup)`: the whole chain of tasks
// suspends and control returns to whoever resumed it last (admission::start or ::resume), which
// sees channel.waiting() and hands the lookup to its caller. channel.answer(reply) resumes the
// innermost task with the reply; when a task finishes it resumes the task that awaited it
// (symmetric transfer), so nested look-ups need no bookkeeping of their own.
//
// Tasks start lazily and are never shared between threads. An exception (std::bad_alloc is the
// only one expected) travels up the chain like a return value and leaves through answer() or
// start().

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "gateway/admission/admission.hpp"

namespace dockgate::admission::detail {

/// Where a suspended decision waits: the look-up it asked for and, once answered, the reply.
class lookup_channel {
public:
    struct awaiter {
        lookup_channel& channel;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> waiting) noexcept { channel.waiting_ = waiting; }
        daemon_reply await_resume() noexcept { return std::move(channel.reply_); }
    };

    /// Suspends the calling task until answer() is called; the co_await yields the reply.
    awaiter ask(lookup what) {
        pending_ = std::move(what);
        return awaiter{*this};
    }

    bool waiting() const noexcept { return static_cast<bool>(waiting_); }
    lookup const& pending() const noexcept { return pending_; }

    /// Resumes the waiting task with `reply`; returns once the chain finished or asks again.
    void answer(daemon_reply reply) {
        reply_ = std::move(reply);
        std::exchange(waiting_, {}).resume();
    }

private:
    std::coroutine_handle<> waiting_;
    lookup pending_;
    daemon_reply reply_;
};

template <class T>
class task {
public:
    struct promise_type;
    using handle = std::coroutine_handle<promise_type>;

    struct promise_type {
        std::optional<T> value;
        std::exception_ptr error;
        std::coroutine_handle<> continuation;

        task get_return_object() noexcept { return task(handle::from_promise(*this)); }
        std::suspend_always initial_suspend() noexcept { return {}; }
        auto final_suspend() noexcept {
            struct resume_awaiting {
                bool await_ready() const noexcept { return false; }
                std::coroutine_handle<> await_suspend(handle done) noexcept {
                    auto next = done.promise().continuation;
                    return next ? next : std::noop_coroutine();
                }
                void await_resume() const noexcept {}
            };
            return resume_awaiting{};
        }
        void return_value(T v) { value.emplace(std::move(v)); }
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };

    task(task&& other) noexcept
        : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (h_)
                h_.destroy();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    task(task const&) = delete;
    task& operator=(task const&) = delete;
    ~task() {
        if (h_)
            h_.destroy();
    }

    // Awaited by another task: runs this one to completion, through any look-ups it makes.
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h_.promise().continuation = awaiting;
        return h_;
    }
    T await_resume() {
        if (h_.promise().error)
            std::rethrow_exception(h_.promise().error);
        return std::move(*h_.promise().value);
    }

    // For the outermost task, driven by admission.
    void start() { h_.resume(); }
    bool done() const noexcept { return h_.done(); }
    T take_result() { return await_resume(); }

private:
    explicit task(handle h) noexcept
        : h_(h) {}
    handle h_;
};

} // namespace dockgate::admission::detail
