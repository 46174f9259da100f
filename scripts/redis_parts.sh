#!/usr/bin/env bash
# What the parts of a verikit script cost Redis, in instructions per call (callgrind counts
# redis-server; the same whatever else the machine does): Redis 7 functions that each do one
# part of what otp_verify / otp_issue do, called N times (16 pipelined) with otp_verify's key and
# argument shape, less a run with no calls; and sketches of a wrong guess and of an issue on two
# record shapes (0.3's hash, and one packed string as 0.4 stores it, in a sketch's layout). For
# deciding what a script change can save.
#
#   bash scripts/redis_parts.sh [N]
#   PARTS="nothing reply6 reply6p" bash scripts/redis_parts.sh [N]   # some of the rows only
#
# Needs redis-server, valgrind and python3 (the client is a few lines of RESP over a socket).
set -euo pipefail
n=${1:-10000}
out=$(mktemp -d /tmp/verikit-redis-parts-XXXXXX)
trap 'rm -rf "$out"' EXIT

cat > "$out/lib.lua" <<'EOF'
#!lua name=verikit_parts
local function f(name, body) redis.register_function(name, body) end
f('nothing', function(keys, argv) return 1 end)
f('time', function(keys, argv) redis.call('TIME') return 1 end)
f('exists', function(keys, argv) redis.call('EXISTS', keys[2]) return 1 end)
f('hmget1', function(keys, argv) redis.call('HMGET', keys[1], 'h') return 1 end)
f('hmget4', function(keys, argv) redis.call('HMGET', keys[1], 'h', 'a', 'f', 'x') return 1 end)
f('hmget9', function(keys, argv) redis.call('HMGET', keys[1], 'h', 'a', 'f', 'p', 'x', 'cd', 'tat', 'ft', 'b') return 1 end)
f('hgetall', function(keys, argv) redis.call('HGETALL', keys[1]) return 1 end)
f('hset2', function(keys, argv) redis.call('HSET', keys[1], 'ft', 4102444800000, 'a', 4) return 1 end)
f('reply3', function(keys, argv) return {1, 2, 3} end)
-- the six values of reply6 as one string (struct.pack: 8-byte doubles, the string with a 4-byte length)
f('reply6p', function(keys, argv) return struct.pack('<dddI4c0dd', 1, 2, 3, 0, '', 0, 0) end)
f('reply6', function(keys, argv) return {1, 2, 3, '', 0, 0} end)
f('args15', function(keys, argv)
  local s = argv[4] + argv[5] + argv[6] + argv[7] + argv[9] + argv[10] + argv[11] + argv[12] + argv[13] + argv[14]
  return 1 end)
-- Sketches (not verikit's scripts) of a wrong guess and of an issue on two record shapes: the
-- :g hash of today, and the whole record as one packed string (GET; SET ... PXAT / KEEPTTL).
-- Each leaves the record as it found it, so every call does the same work.
local REC = '<c17i2i1i8i8i8i8'  -- h (key id + hash), attempts, flags, x, cd, tat, ft
f('wrong_hash', function(keys, argv)
  local t = redis.call('TIME')
  local v = redis.call('HMGET', keys[1], 'h', 'a', 'f', 'p', 'x', 'cd', 'tat', 'ft', 'b')
  redis.call('HSET', keys[1], 'a', v[2] + 0, 'ft', 4102444800000)
  return {0, 4, 4102444800000, '', 0, 1} end)
f('wrong_string', function(keys, argv)
  local t = redis.call('TIME')
  local h, a, fl, x, cd, tat, ft = struct.unpack(REC, redis.call('GET', keys[4]))
  redis.call('SET', keys[4], struct.pack(REC, h, a, fl, x, cd, tat, 4102444800000), 'KEEPTTL')
  return {0, 4, 4102444800000, '', 0, 1} end)
f('issue_hash', function(keys, argv)
  local t = redis.call('TIME')
  local v = redis.call('HMGET', keys[1], 'a', 'x', 'cd', 'tat', 'ft')
  redis.call('HSET', keys[1], 'h', argv[4], 'a', 5, 'f', 1, 'x', 4102444800000, 'cd', 4102444800000, 'tat', 4102444800000)
  redis.call('PEXPIREAT', keys[1], 4102444800000)
  return {0, 0, '', 4102444800000, 5, 0} end)
f('issue_string', function(keys, argv)
  local t = redis.call('TIME')
  local h, a, fl, x, cd, tat, ft = struct.unpack(REC, redis.call('GET', keys[4]))
  redis.call('SET', keys[4], struct.pack(REC, argv[4], 5, 1, 4102444800000, 4102444800000, 4102444800000, ft),
             'PXAT', 4102444800000)
  return {0, 0, '', 4102444800000, 5, 0} end)
f('packed10', function(keys, argv)
  local a, b, c, d, e, g, h, i, j, k = struct.unpack('<dddddddddd', argv[4])
  local s = a + b + c + d + e + g + h + i + j + k
  return 1 end)
EOF

cat > "$out/client.py" <<'EOF'
import socket, struct, sys
port, n, fn = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def cmd(*a):
    out = b'*%d\r\n' % len(a)
    for x in a:
        x = x.encode() if isinstance(x, str) else x
        out += b'$%d\r\n%s\r\n' % (len(x), x)
    return out
g, t, p, o = (b'vk:{abcdefghijklmnopqrstuv}:' + s for s in (b'g', b't', b'p', b'o'))
h = b'\x01' + b'h' * 16
s = socket.create_connection(('127.0.0.1', port))
# a pending code with its abuse-control state, as otp_issue leaves it (and as one packed string)
s.sendall(cmd('HSET', g, 'h', h, 'a', '5', 'f', '1', 'x', '4102444800000', 'cd', '4102444800000', 'tat', '4102444800000'))
s.recv(100)
s.sendall(cmd('SET', o, struct.pack('<17shbqqqq', h, 5, 1, 4102444800000, 4102444800000, 4102444800000, 0)))
s.recv(100)
if fn == 'args15':  # otp_issue's shape before its numbers were packed: 15 arguments
    c = cmd('FCALL', fn, '1', g, h, '', '', '300000', '5', '0', '1', '', '60000', '10000', '5', '1', '60000', '5', '')
elif fn == 'packed10':  # and after: 6, the 10 numbers in one
    c = cmd('FCALL', fn, '1', g, h, '', '', struct.pack('<10d', 300000, 5, 0, 1, 60000, 10000, 5, 1, 60000, 5), '', '')
else:  # otp_verify's shape: 3 keys, 3 arguments and one candidate (and the string's key)
    c = cmd('FCALL', fn, '4', g, t, p, o, struct.pack('<4d', 0, 0, 0, 0), '', '', h)
def reply_end(buf, at):  # where the RESP reply starting at `at` ends; None: not all here yet
    end = buf.find(b'\r\n', at)
    if end < 0:
        return None
    kind, line = buf[at:at + 1], buf[at + 1:end]
    if kind == b'$':
        size = int(line)
        stop = end + 2 + (size + 2 if size >= 0 else 0)
        return stop if len(buf) >= stop else None
    if kind == b'*':
        at = end + 2
        for _ in range(max(int(line), 0)):
            at = reply_end(buf, at)
            if at is None:
                return None
        return at
    return end + 2
sent = 0
buf = b''
while sent < n:
    k = min(16, n - sent)
    s.sendall(c * k)
    sent += k
    for _ in range(k):  # every reply read whole before the next batch
        while (stop := reply_end(buf, 0)) is None:
            buf += s.recv(65536)
        if buf[:1] == b'-':
            sys.exit('error reply: %r' % buf[:200])
        buf = buf[stop:]
EOF

# instructions redis-server ran for `calls` calls of function $2
run() {
  local port pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$port" redis-server --port "$port" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$out" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" FUNCTION LOAD "$(cat "$out/lib.lua")" >/dev/null
  local ok=0
  python3 "$out/client.py" "$port" "$1" "$2" || ok=$?
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  [ "$ok" = 0 ] || { echo "redis_parts: $2 failed" >&2; return 1; }
  grep -m1 -E '^(summary|totals):' "$out/cg.$port" | awk '{print $2}'
}

zero=$(run 0 nothing)
echo "redis-server instructions per FCALL ($n calls, 16 pipelined; the first row is the base of the others)"
for fn in ${PARTS:-nothing time exists hmget1 hmget4 hmget9 hgetall hset2 reply3 reply6 reply6p args15 packed10 \
  wrong_hash wrong_string issue_hash issue_string}; do
  total=$(run "$n" "$fn")
  printf '  %-13s %8d\n' "$fn" $(( (total - zero) / n ))
done

# The two records' MEMORY USAGE (a plain server: the client writes them and makes no call)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" FUNCTION LOAD "$(cat "$out/lib.lua")" >/dev/null
python3 "$out/client.py" "$port" 0 nothing
for k in g o; do redis-cli -p "$port" PEXPIREAT "vk:{abcdefghijklmnopqrstuv}:$k" 4102444800000 >/dev/null; done
echo "MEMORY USAGE of a pending code with its abuse-control state: as the :g hash" \
  "$(redis-cli -p "$port" MEMORY USAGE 'vk:{abcdefghijklmnopqrstuv}:g') bytes, as one packed string" \
  "$(redis-cli -p "$port" MEMORY USAGE 'vk:{abcdefghijklmnopqrstuv}:o') bytes"
# What any one key per code costs at least: used_memory per key over 100,000 keys named like
# verikit's (vk:{22 characters}:g), each a string value with an expiry (PXAT), less before.
per_key() {
  redis-cli -p "$port" FLUSHALL >/dev/null
  local before after
  before=$(redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}')
  redis-cli -p "$port" EVAL "for i = 1, 100000 do redis.call('SET', string.format('vk:{%022d}:g', i), \
    string.rep('v', $1), 'PXAT', 4102444800000) end return 1" 0 >/dev/null
  after=$(redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}')
  echo $(( (after - before) / 100000 ))
}
echo "used_memory per key, 100,000 keys with an expiry: a 1-byte value $(per_key 1) bytes;" \
  "a 27-byte value (the size of a code's hash, a 1-byte attempts count, flags, expiry) $(per_key 27) bytes"
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
wait "$pid" || true
