/*===- MpiTraffic.c - bytes counted at the MPI boundary (PMPI) -----------===*
 *
 * An MPI profiling-interface library for tests: preloaded into the ranks of
 * `mpirun ... ditc run` (LD_PRELOAD), it wraps the calls that carry data
 * (MPI_Isend and the nonblocking collectives) and tallies, per kind, the
 * bytes this rank sends from the calls' own arguments: count x
 * MPI_Type_size(datatype), the communicator's size and this rank's place in
 * it. The runtime's own counters (ditc run --comm-stats) come from a
 * separate path through ditc's code; test/Parallel/check_comm_bytes.py
 * compares the two.
 *
 * Per call, bytes sent by this rank under the ring / pairwise algorithms
 * that ditc's cost model assumes:
 *   all_reduce      2 (p - 1) / p x payload
 *   all_gather      (p - 1) x the rank's block
 *   reduce_scatter  (p - 1) x one block
 *   all_to_all      (p - 1) x one block
 *   broadcast       payload, except the last rank of the chain from root
 *   send            payload
 * A communicator split's 8-byte MPI_Iallgather of (color, key), typed
 * MPI_DATATYPE_NULL on the send side, is counted apart as "setup".
 *
 * At exit, when DITC_MPI_TRAFFIC is set, writes one line per kind that sent
 * bytes, "KIND BYTES CALLS", to that path with %r replaced by the rank
 * (OMPI_COMM_WORLD_RANK).
 *
 *===----------------------------------------------------------------------===*/
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  K_ALL_REDUCE,
  K_ALL_GATHER,
  K_REDUCE_SCATTER,
  K_ALL_TO_ALL,
  K_BROADCAST,
  K_SEND,
  K_SETUP,
  K_COUNT
};
static const char *const kNames[K_COUNT] = {
    "all_reduce", "all_gather", "reduce_scatter", "all_to_all",
    "broadcast",  "send",       "setup"};
static unsigned long long bytes_[K_COUNT], calls_[K_COUNT];

static unsigned long long payload(int count, MPI_Datatype t) {
  int size = 0;
  if (t == MPI_DATATYPE_NULL || PMPI_Type_size(t, &size) != MPI_SUCCESS)
    return 0;
  return (unsigned long long)count * (unsigned long long)size;
}

static int comm_size(MPI_Comm c) {
  int p = 1;
  PMPI_Comm_size(c, &p);
  return p;
}

static void add(int kind, unsigned long long b) {
  __atomic_fetch_add(&bytes_[kind], b, __ATOMIC_RELAXED);
  __atomic_fetch_add(&calls_[kind], 1, __ATOMIC_RELAXED);
}

int MPI_Isend(const void *buf, int count, MPI_Datatype t, int dest, int tag,
              MPI_Comm comm, MPI_Request *req) {
  add(K_SEND, payload(count, t));
  return PMPI_Isend(buf, count, t, dest, tag, comm, req);
}

int MPI_Iallreduce(const void *send, void *recv, int count, MPI_Datatype t,
                   MPI_Op op, MPI_Comm comm, MPI_Request *req) {
  unsigned long long p = (unsigned long long)comm_size(comm);
  add(K_ALL_REDUCE, 2 * (p - 1) * payload(count, t) / p);
  return PMPI_Iallreduce(send, recv, count, t, op, comm, req);
}

int MPI_Iallgather(const void *send, int scount, MPI_Datatype st, void *recv,
                   int rcount, MPI_Datatype rt, MPI_Comm comm,
                   MPI_Request *req) {
  unsigned long long p = (unsigned long long)comm_size(comm);
  if (send == MPI_IN_PLACE && st == MPI_DATATYPE_NULL)
    add(K_SETUP, (p - 1) * payload(rcount, rt));
  else
    add(K_ALL_GATHER, (p - 1) * (send == MPI_IN_PLACE ? payload(rcount, rt)
                                                      : payload(scount, st)));
  return PMPI_Iallgather(send, scount, st, recv, rcount, rt, comm, req);
}

int MPI_Ireduce_scatter_block(const void *send, void *recv, int count,
                              MPI_Datatype t, MPI_Op op, MPI_Comm comm,
                              MPI_Request *req) {
  unsigned long long p = (unsigned long long)comm_size(comm);
  add(K_REDUCE_SCATTER, (p - 1) * payload(count, t));
  return PMPI_Ireduce_scatter_block(send, recv, count, t, op, comm, req);
}

int MPI_Ialltoall(const void *send, int scount, MPI_Datatype st, void *recv,
                  int rcount, MPI_Datatype rt, MPI_Comm comm,
                  MPI_Request *req) {
  unsigned long long p = (unsigned long long)comm_size(comm);
  add(K_ALL_TO_ALL, (p - 1) * (send == MPI_IN_PLACE ? payload(rcount, rt)
                                                    : payload(scount, st)));
  return PMPI_Ialltoall(send, scount, st, recv, rcount, rt, comm, req);
}

int MPI_Ibcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm,
               MPI_Request *req) {
  int p = comm_size(comm), r = 0;
  PMPI_Comm_rank(comm, &r);
  add(K_BROADCAST, r == (root + p - 1) % p ? 0 : payload(count, t));
  return PMPI_Ibcast(buf, count, t, root, comm, req);
}

__attribute__((destructor)) static void write_log(void) {
  const char *path = getenv("DITC_MPI_TRAFFIC");
  const char *rank = getenv("OMPI_COMM_WORLD_RANK");
  if (!path || !*path)
    return;
  char name[4096];
  const char *at = strstr(path, "%r");
  if (at)
    snprintf(name, sizeof name, "%.*s%s%s", (int)(at - path), path,
             rank ? rank : "0", at + 2);
  else
    snprintf(name, sizeof name, "%s", path);
  FILE *f = fopen(name, "w");
  if (!f)
    return;
  for (int k = 0; k < K_COUNT; ++k)
    if (calls_[k])
      fprintf(f, "%s %llu %llu\n", kNames[k], bytes_[k], calls_[k]);
  fclose(f);
}
