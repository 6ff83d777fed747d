/*===- ditc_comm.h - The ditc runtime's communicators (C ABI) -------------===*
 *
 * Plain C. A communicator joins the ranks of one parallel run and carries
 * the collectives a parallelised model calls. The backend is picked by name
 * when it is created:
 *
 *   "self"  world size 1, in this process. Always built; needs neither MPI
 *           nor a GPU. Collectives are copies or no-ops (see each below).
 *   "mpi"   CPU ranks under mpirun (Open MPI). Built when CMake finds MPI
 *           (Debian: libopenmpi-dev; mpirun is in openmpi-bin); see below.
 *   "nccl"  one GPU per rank (runtime/src/comm/nccl.cpp). Built with "mpi"
 *           (it bootstraps over MPI_COMM_WORLD); NCCL and the CUDA runtime
 *           are loaded when it is used: libnccl.so.2 (or DITC_NCCL_LIBRARY)
 *           and libcudart.so.13 / .12 / libcudart.so (or
 *           DITC_CUDART_LIBRARY). Without them, or without a device, it is
 *           DITC_RT_COMM_ERROR_UNAVAILABLE naming what is missing, and
 *           ditc_rt_comm_backend_available("nccl") is 0. Each rank uses
 *           device (OMPI_COMM_WORLD_LOCAL_RANK mod the device count) and a
 *           stream of its own per communicator.
 *           Today it takes HOST buffers, like "mpi", and stages them through
 *           device scratch (copy in, NCCL on the stream, copy out): it is
 *           for testing the transport; device buffers come with the CUDA
 *           kernels. It differs from "mpi" in: NCCL has no tags, so the
 *           messages from a peer are received in the order sent, and a recv
 *           whose count, dtype or tag differs from the next message's is
 *           ARGUMENT and that message is dropped; send blocks until the peer
 *           receives; one operation at a time per communicator (a second
 *           thread waits; nothing may be called while a sendrecv is
 *           started and not waited for: ARGUMENT); MAX follows NCCL for
 *           NaN; a timeout aborts the NCCL communicator (destroy only);
 *           create and split block in ncclCommInitRank once every rank has
 *           exchanged the unique id over MPI.
 *
 * A backend that is reserved but not built is refused with
 * DITC_RT_COMM_ERROR_UNAVAILABLE, an unknown name with
 * DITC_RT_COMM_ERROR_ARGUMENT; ditc_rt_comm_last_error() says which.
 *
 *   ditc_rt_comm *c;
 *   if (ditc_rt_comm_create("self", &c) != DITC_RT_COMM_OK) ... last_error();
 *   ditc_rt_comm_all_reduce(c, x, x, n, DITC_RT_F32, DITC_RT_REDUCE_SUM);
 *   ditc_rt_comm_destroy(c);
 *
 * Conventions (the dtype and reduce-op enums are those of ditc_kernels.h):
 *  - Every function that can fail returns a ditc_rt_comm_status. On failure
 *    nothing was sent, no output buffer was written (except a timed-out or
 *    peer-failed collective, whose outputs are then undefined), the byte
 *    counters did not move, and ditc_rt_comm_last_error() holds one line
 *    saying why. No function aborts or prints.
 *  - Buffers are contiguous host memory (also for "nccl" today, see
 *    above). `count` counts elements (int64_t, >= 0), never bytes; a
 *    count of 0 is a successful no-op and then the buffers may be null.
 *  - P is the world size, r this rank (0 <= r < P), E the element size of
 *    `dtype`, B = count * E.
 *  - Null pointers (with count > 0), an unknown dtype or op, a negative
 *    count, a rank out of range, a negative tag and buffers that overlap
 *    other than in the in-place form a collective documents are refused with
 *    DITC_RT_COMM_ERROR_ARGUMENT.
 *  - Collectives must be called by every rank of the communicator, in the
 *    same order, with the same count, dtype, op and root; one collective at a
 *    time per communicator. send / recv may be called from several threads.
 *  - Reductions (all_reduce, reduce_scatter) take F32 I64 I32 F16 BF16
 *    (B8 is refused); all other operations move bytes and take every dtype.
 *  - Timeout: every blocking operation gives up after the communicator's
 *    timeout (ditc_rt_comm_set_timeout_ms; default
 *    DITC_RT_COMM_DEFAULT_TIMEOUT_MS) and returns DITC_RT_COMM_ERROR_TIMEOUT,
 *    so a dead peer never hangs the run. After a timeout or a peer failure
 *    in a collective the communicator can only be destroyed.
 *
 * "mpi" (runtime/src/comm/mpi.cpp):
 *  - Ranks and size are MPI_COMM_WORLD's; create duplicates it, so every rank
 *    creates its communicators in the same order (create waits as long as
 *    DITC_RT_COMM_DEFAULT_TIMEOUT_MS for the others).
 *  - The first create initialises MPI if the process has not (asking for
 *    MPI_THREAD_MULTIPLE; with less, the runtime serialises its MPI calls)
 *    and then finalises it at exit; MPI it did not initialise it never
 *    finalises. An application that uses MPI itself initialises it first
 *    and finalises it after destroying its communicators. Once MPI is
 *    finalised, create gives DITC_RT_COMM_ERROR_UNAVAILABLE.
 *  - Outside a launcher (no OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK,
 *    PMI_SIZE) the process is an isolated singleton: world size 1, no
 *    daemon (the runtime sets OMPI_MCA_ess_singleton_isolated=1 unless it is
 *    set). Open MPI itself ends the process should MPI_Init fail.
 *  - An operation MPI refuses to start gives DITC_RT_COMM_ERROR_INTERNAL, an
 *    error while it runs DITC_RT_COMM_ERROR_PEER, with MPI's message.
 *  - A collective or send that timed out stays pending inside MPI (neither
 *    can be cancelled): the communicator can only be destroyed, and the
 *    buffers of that call may still be read or written later (should the
 *    late peers take part after all). If it is still pending at exit, the
 *    runtime does not finalise MPI (MPI_Finalize would wait for the missing
 *    rank forever) and mpirun ends the job with an error. A recv that timed
 *    out with no message leaves the communicator usable.
 *  - Dead peers: under mpirun a rank that dies (crash, abort, exit without
 *    finalising MPI) makes mpirun end the whole job within about a second,
 *    with a non-zero exit status: the other ranks are killed, not told. A
 *    rank that hangs, or exits normally (its MPI_Finalize waits for the
 *    others), or dies in a job that goes on (mpirun --mca
 *    orte_abort_on_non_zero_status 0), gives the others
 *    DITC_RT_COMM_ERROR_TIMEOUT after their timeout.
 *  - F16 / BF16 reductions add (or compare) in F32 and round once per step
 *    of the reduction: one rounding for P <= 2, at most P - 1 in all.
 *  - At most INT_MAX elements per call (per block), tags up to
 *    (MPI_TAG_UB - 7) / 8 (268435455 with Open MPI): the MPI tag also
 *    carries the dtype. recv spots a message of another dtype only when none
 *    of its own dtype is waiting; messages of different dtypes on one tag
 *    keep no order between them.
 *  - split: every rank's color and key are first gathered with a
 *    non-blocking all_gather polled against the timeout (so a missing rank
 *    gives TIMEOUT, as a collective does); then MPI_Comm_split, which MPI
 *    offers only blocking, runs once every rank has reached it. Only a rank
 *    that dies between the two can block it (mpirun then ends the job).
 *  - sendrecv: MPI_Irecv and MPI_Isend, polled in the wait; a receive that
 *    timed out is cancelled, a send that did stays pending as send's does.
 *  - Tests: test/Runtime/CommMpiTest.cpp, run by comm-mpi.test (1 to 4 ranks
 *    and a singleton) and comm-mpi-dead-peer.test (lit build/test/Runtime);
 *    by hand (as root add --allow-run-as-root):
 *      mpirun --oversubscribe -np 4 build/test/Unit/RuntimeCommMpi
 *===----------------------------------------------------------------------===*/
#ifndef DITC_RUNTIME_DITC_COMM_H
#define DITC_RUNTIME_DITC_COMM_H

#include "ditc/runtime/ditc_kernels.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ditc_rt_comm ditc_rt_comm;

typedef enum ditc_rt_comm_status {
  DITC_RT_COMM_OK = 0,
  DITC_RT_COMM_ERROR_ARGUMENT = 1,    /* null pointer, bad enum / rank / count,
                                         overlapping buffers, unknown backend,
                                         a recv that does not match the send */
  DITC_RT_COMM_ERROR_UNAVAILABLE = 2, /* backend reserved but not built in, or
                                         its launcher / device is missing */
  DITC_RT_COMM_ERROR_TIMEOUT = 3,     /* not complete within the timeout */
  DITC_RT_COMM_ERROR_PEER = 4,        /* a peer failed or left (multi-rank) */
  DITC_RT_COMM_ERROR_MEMORY = 5,      /* an allocation failed */
  DITC_RT_COMM_ERROR_INTERNAL = 6     /* the backend library reported an error */
} ditc_rt_comm_status;

/* The operations whose traffic is counted (ditc_rt_comm_stats). */
typedef enum ditc_rt_comm_kind {
  DITC_RT_COMM_ALL_REDUCE = 0,
  DITC_RT_COMM_ALL_GATHER = 1,
  DITC_RT_COMM_REDUCE_SCATTER = 2,
  DITC_RT_COMM_ALL_TO_ALL = 3,
  DITC_RT_COMM_BROADCAST = 4,
  DITC_RT_COMM_SEND = 5,
  DITC_RT_COMM_KIND_COUNT
} ditc_rt_comm_kind;

/* The timeout a new communicator starts with: 10 minutes. */
#define DITC_RT_COMM_DEFAULT_TIMEOUT_MS 600000

/*--- Status, backends, lifetime ------------------------------------------*/

/* One-line text for a status ("unknown status" for other values). */
DITC_RT_API const char *ditc_rt_comm_status_string(int32_t status);

/* The last failure of a ditc_rt_comm_* call on the calling thread (one line,
 * valid until this thread's next failing call); "" when none. */
DITC_RT_API const char *ditc_rt_comm_last_error(void);

/* 1 when `backend` names a backend built into this runtime, else 0. */
DITC_RT_API int32_t ditc_rt_comm_backend_available(const char *backend);

/* Creates a communicator of `backend` ("self", "mpi", "nccl"). Multi-rank
 * backends take rank and size from their launcher ("mpi": MPI_COMM_WORLD;
 * creating one is collective). On failure *out is null (when `out` is not). */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_create(const char *backend,
                                                    ditc_rt_comm **out);
/* Null is a no-op. Messages sent and never received are dropped. */
DITC_RT_API void ditc_rt_comm_destroy(ditc_rt_comm *comm);

/* The backend's name ("self"); null for a null comm. */
DITC_RT_API const char *ditc_rt_comm_backend(const ditc_rt_comm *comm);
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_rank(const ditc_rt_comm *comm,
                                                  int32_t *rank);
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_size(const ditc_rt_comm *comm,
                                                  int32_t *size);

/* Splits `comm`: the ranks that pass the same color (>= 0) form a new
 * communicator, ranked by key (ties by their rank in comm). Collective over
 * comm (every rank calls it, in the same order as comm's other collectives).
 * The new communicator has comm's backend and timeout, byte counters of its
 * own (at 0) and is independent of comm: either may be destroyed first.
 * "self": a communicator of size 1. "mpi": MPI_Comm_split (see below). On
 * failure *out is null (when `out` is not). */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_split(ditc_rt_comm *comm,
                                                   int32_t color, int32_t key,
                                                   ditc_rt_comm **out);

/* Timeout of every later blocking call, in milliseconds; <= 0: none (wait
 * forever). */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_set_timeout_ms(ditc_rt_comm *comm,
                                                            int64_t ms);
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_get_timeout_ms(const ditc_rt_comm *comm, int64_t *ms);

/*--- Collectives ---------------------------------------------------------*/

/* recv[i] = op over ranks q of send_q[i], i < count. op: DITC_RT_REDUCE_SUM
 * or DITC_RT_REDUCE_MAX (F32 MAX propagates NaN). send and recv hold count
 * elements; in place when send == recv, otherwise they must not overlap.
 * Every rank gets the same result (F16 / BF16 sums add in F32; "mpi" rounds
 * once per step, see above).
 * P = 1: recv = send (nothing when in place). */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_all_reduce(ditc_rt_comm *comm, const void *send, void *recv,
                        int64_t count, int32_t dtype, int32_t op);

/* recv[q*count + i] = send_q[i]: send holds count elements, recv P*count,
 * rank q's block at element q*count. In place when send == recv + r*count
 * (this rank's block of recv); otherwise they must not overlap.
 * P = 1: recv = send. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_all_gather(ditc_rt_comm *comm, const void *send, void *recv,
                        int64_t count, int32_t dtype);

/* recv[i] = sum over ranks q of send_q[r*count + i]: send holds P*count
 * elements, recv count (this rank's block r of the reduced buffer). op must
 * be DITC_RT_REDUCE_SUM. In place when recv == send + r*count; otherwise
 * they must not overlap. P = 1: recv = send. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_reduce_scatter(ditc_rt_comm *comm, const void *send, void *recv,
                            int64_t count, int32_t dtype, int32_t op);

/* recv[q*count + i] = send_q[r*count + i]: send and recv hold P*count
 * elements each; block q of send goes to rank q, block q of recv comes from
 * rank q. send and recv must not overlap (no in-place form).
 * P = 1: recv = send. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_all_to_all(ditc_rt_comm *comm, const void *send, void *recv,
                        int64_t count, int32_t dtype);

/* buf (count elements) of rank `root` is copied into buf of every other
 * rank; root's buf is read only. P = 1: root must be 0; nothing changes. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_broadcast(ditc_rt_comm *comm, void *buf, int64_t count,
                       int32_t dtype, int32_t root);

/* Returns once every rank has entered it (or on timeout). P = 1: returns. */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_barrier(ditc_rt_comm *comm);

/*--- Point to point ------------------------------------------------------*/

/* Sends count elements of buf to rank `peer` with `tag` (>= 0). Returns once
 * buf may be reused: the message is copied or delivered (it may wait for the
 * matching recv, up to the timeout). Messages from one rank to another with
 * one tag arrive in the order sent. P = 1: peer must be 0; the message is
 * copied into the communicator's queue and send returns at once. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_send(ditc_rt_comm *comm, const void *buf, int64_t count,
                  int32_t dtype, int32_t peer, int32_t tag);

/* Receives into buf the oldest message from rank `peer` with `tag`, waiting
 * for it up to the timeout (DITC_RT_COMM_ERROR_TIMEOUT, buf untouched). The
 * message must have exactly count elements of dtype; otherwise
 * DITC_RT_COMM_ERROR_ARGUMENT and the message stays queued. P = 1: peer
 * must be 0; takes the oldest matching message this communicator sent to
 * itself (from any thread). */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_recv(ditc_rt_comm *comm, void *buf, int64_t count, int32_t dtype,
                  int32_t peer, int32_t tag);

/* A started exchange (ditc_rt_comm_sendrecv_start); ended by
 * ditc_rt_comm_request_wait, which frees it. */
typedef struct ditc_rt_comm_request ditc_rt_comm_request;

/* Starts sending send_count elements of `send` to rank `dst` and receiving
 * recv_count elements into `recv` from rank `src`, both with `tag` and
 * `dtype` (a ring shift: dst = r + 1, src = r - 1). Either may be this rank.
 * send and recv must not overlap; neither may be touched until the request
 * is waited for. The message is an ordinary one: the peer may take it with
 * ditc_rt_comm_recv, and the receive takes a ditc_rt_comm_send's message
 * just as well. The received message must have exactly recv_count elements
 * (else ARGUMENT from the wait); one of another dtype is not matched (the
 * wait times out). Nothing blocks here; the communicator may be used for
 * other calls (collectives included) while the request is pending. Every
 * request must be waited for before its communicator is destroyed. On
 * failure nothing was started and *out is null (when `out` is not).
 * P = 1: the message goes through the communicator's queue, as send's does;
 * the wait takes it. */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_sendrecv_start(
    ditc_rt_comm *comm, const void *send, int64_t send_count, int32_t dst,
    void *recv, int64_t recv_count, int32_t src, int32_t dtype, int32_t tag,
    ditc_rt_comm_request **out);

/* Completes `req`, waiting up to the communicator's timeout (counted from
 * this call), and frees it whatever the outcome. On success recv holds the
 * message and send_count * E bytes are counted under DITC_RT_COMM_SEND (one
 * call). On TIMEOUT the receive is cancelled (recv untouched); a send the
 * peer never took stays pending as send's does (see "mpi" below). Null is
 * a no-op that returns OK. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_request_wait(ditc_rt_comm_request *req);

/* ditc_rt_comm_sendrecv_start, then ditc_rt_comm_request_wait. */
DITC_RT_API ditc_rt_comm_status
ditc_rt_comm_sendrecv(ditc_rt_comm *comm, const void *send, int64_t send_count,
                      int32_t dst, void *recv, int64_t recv_count, int32_t src,
                      int32_t dtype, int32_t tag);

/*--- Traffic counters ----------------------------------------------------*/

/* Bytes this rank sent and calls that succeeded, for one kind, since the
 * communicator was created or last reset; bytes / calls may be null. Bytes
 * are counted as the algorithm each collective stands for sends them, the
 * same for every backend (B = count * E as above, integer arithmetic):
 *   all_reduce      2*(P-1)*B / P      ring: reduce-scatter then all-gather
 *   all_gather      (P-1)*B            ring; B = this rank's block
 *   reduce_scatter  (P-1)*B            ring; B = this rank's block (recv)
 *   all_to_all      (P-1)*B            B = one block; the own block stays
 *   broadcast       B, except 0 on the last rank of the chain
 *                   root, root+1, ..., root+P-1 (mod P)
 *   send            B for every send, whatever the peer (the message);
 *                   sendrecv counts its send_count * E here
 * So at P = 1 every collective counts 0 bytes (but its call), and send
 * counts its message. Barrier and recv count nothing. */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_stats(const ditc_rt_comm *comm,
                                                   int32_t kind,
                                                   uint64_t *bytes,
                                                   uint64_t *calls);
/* Sets every counter to 0. */
DITC_RT_API ditc_rt_comm_status ditc_rt_comm_reset_stats(ditc_rt_comm *comm);
/* "all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast",
 * "send"; null for other values. */
DITC_RT_API const char *ditc_rt_comm_kind_name(int32_t kind);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DITC_RUNTIME_DITC_COMM_H */
