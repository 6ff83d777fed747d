"""float32 .npz files without numpy (run-mpi.test).

  npz_f32.py write OUT.npz NAME D0,D1 V0,V1,...   one array
  npz_f32.py print IN.npz NAME                     its values, 4 decimals
"""
import ast
import struct
import sys
import zipfile


def write(path, name, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (
        str(tuple(shape)))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
            header.encode("latin1") + struct.pack("<%df" % len(values), *values))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name + ".npy", data)


def read(path, name):
    raw = zipfile.ZipFile(path).read(name + ".npy")
    n = struct.unpack("<H", raw[8:10])[0]
    header = ast.literal_eval(raw[10:10 + n].decode("latin1"))
    assert header["descr"] == "<f4", header
    body = raw[10 + n:]
    return header["shape"], struct.unpack("<%df" % (len(body) // 4), body)


if sys.argv[1] == "write":
    write(sys.argv[2], sys.argv[3], [int(d) for d in sys.argv[4].split(",")],
          [float(v) for v in sys.argv[5].split(",")])
else:
    shape, values = read(sys.argv[2], sys.argv[3])
    print(sys.argv[3], shape, " ".join("%.4f" % v for v in values))
