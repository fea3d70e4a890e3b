-- MD5 (RFC 1321) of a string, as lowercase hex: Redis's Lua has SHA1 but not MD5, and
-- resque-loner names its markers by MD5. The 64 steps are unrolled (generated from the RFC's
-- tables): no per-call tables of constants, about 10 us of Redis CPU per 64-byte block.
-- Sums are left unreduced (exact in doubles); every bit operation reduces modulo 2^32.
local function md5(s)
  local band, bor, bxor, bnot, rol = bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol
  local n = #s
  local bits = n * 8
  local length = ''
  for _ = 1, 8 do
    length = length .. string.char(bits % 256)
    bits = math.floor(bits / 256)
  end
  s = s .. '\128' .. string.rep('\0', (55 - n) % 64) .. length
  local h0, h1, h2, h3 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
  local w = {}
  for o = 0, #s - 1, 64 do
    for j = 1, 16 do
      local b1, b2, b3, b4 = string.byte(s, o + j * 4 - 3, o + j * 4)
      w[j] = b1 + b2 * 256 + b3 * 65536 + b4 * 16777216
    end
    local a, b, c, d = h0, h1, h2, h3
    a = b + rol(a + bxor(d, band(b, bxor(c, d))) + w[1] + 0xd76aa478, 7)
    d = a + rol(d + bxor(c, band(a, bxor(b, c))) + w[2] + 0xe8c7b756, 12)
    c = d + rol(c + bxor(b, band(d, bxor(a, b))) + w[3] + 0x242070db, 17)
    b = c + rol(b + bxor(a, band(c, bxor(d, a))) + w[4] + 0xc1bdceee, 22)
    a = b + rol(a + bxor(d, band(b, bxor(c, d))) + w[5] + 0xf57c0faf, 7)
    d = a + rol(d + bxor(c, band(a, bxor(b, c))) + w[6] + 0x4787c62a, 12)
    c = d + rol(c + bxor(b, band(d, bxor(a, b))) + w[7] + 0xa8304613, 17)
    b = c + rol(b + bxor(a, band(c, bxor(d, a))) + w[8] + 0xfd469501, 22)
    a = b + rol(a + bxor(d, band(b, bxor(c, d))) + w[9] + 0x698098d8, 7)
    d = a + rol(d + bxor(c, band(a, bxor(b, c))) + w[10] + 0x8b44f7af, 12)
    c = d + rol(c + bxor(b, band(d, bxor(a, b))) + w[11] + 0xffff5bb1, 17)
    b = c + rol(b + bxor(a, band(c, bxor(d, a))) + w[12] + 0x895cd7be, 22)
    a = b + rol(a + bxor(d, band(b, bxor(c, d))) + w[13] + 0x6b901122, 7)
    d = a + rol(d + bxor(c, band(a, bxor(b, c))) + w[14] + 0xfd987193, 12)
    c = d + rol(c + bxor(b, band(d, bxor(a, b))) + w[15] + 0xa679438e, 17)
    b = c + rol(b + bxor(a, band(c, bxor(d, a))) + w[16] + 0x49b40821, 22)
    a = b + rol(a + bxor(c, band(d, bxor(b, c))) + w[2] + 0xf61e2562, 5)
    d = a + rol(d + bxor(b, band(c, bxor(a, b))) + w[7] + 0xc040b340, 9)
    c = d + rol(c + bxor(a, band(b, bxor(d, a))) + w[12] + 0x265e5a51, 14)
    b = c + rol(b + bxor(d, band(a, bxor(c, d))) + w[1] + 0xe9b6c7aa, 20)
    a = b + rol(a + bxor(c, band(d, bxor(b, c))) + w[6] + 0xd62f105d, 5)
    d = a + rol(d + bxor(b, band(c, bxor(a, b))) + w[11] + 0x02441453, 9)
    c = d + rol(c + bxor(a, band(b, bxor(d, a))) + w[16] + 0xd8a1e681, 14)
    b = c + rol(b + bxor(d, band(a, bxor(c, d))) + w[5] + 0xe7d3fbc8, 20)
    a = b + rol(a + bxor(c, band(d, bxor(b, c))) + w[10] + 0x21e1cde6, 5)
    d = a + rol(d + bxor(b, band(c, bxor(a, b))) + w[15] + 0xc33707d6, 9)
    c = d + rol(c + bxor(a, band(b, bxor(d, a))) + w[4] + 0xf4d50d87, 14)
    b = c + rol(b + bxor(d, band(a, bxor(c, d))) + w[9] + 0x455a14ed, 20)
    a = b + rol(a + bxor(c, band(d, bxor(b, c))) + w[14] + 0xa9e3e905, 5)
    d = a + rol(d + bxor(b, band(c, bxor(a, b))) + w[3] + 0xfcefa3f8, 9)
    c = d + rol(c + bxor(a, band(b, bxor(d, a))) + w[8] + 0x676f02d9, 14)
    b = c + rol(b + bxor(d, band(a, bxor(c, d))) + w[13] + 0x8d2a4c8a, 20)
    a = b + rol(a + bxor(b, c, d) + w[6] + 0xfffa3942, 4)
    d = a + rol(d + bxor(a, b, c) + w[9] + 0x8771f681, 11)
    c = d + rol(c + bxor(d, a, b) + w[12] + 0x6d9d6122, 16)
    b = c + rol(b + bxor(c, d, a) + w[15] + 0xfde5380c, 23)
    a = b + rol(a + bxor(b, c, d) + w[2] + 0xa4beea44, 4)
    d = a + rol(d + bxor(a, b, c) + w[5] + 0x4bdecfa9, 11)
    c = d + rol(c + bxor(d, a, b) + w[8] + 0xf6bb4b60, 16)
    b = c + rol(b + bxor(c, d, a) + w[11] + 0xbebfbc70, 23)
    a = b + rol(a + bxor(b, c, d) + w[14] + 0x289b7ec6, 4)
    d = a + rol(d + bxor(a, b, c) + w[1] + 0xeaa127fa, 11)
    c = d + rol(c + bxor(d, a, b) + w[4] + 0xd4ef3085, 16)
    b = c + rol(b + bxor(c, d, a) + w[7] + 0x04881d05, 23)
    a = b + rol(a + bxor(b, c, d) + w[10] + 0xd9d4d039, 4)
    d = a + rol(d + bxor(a, b, c) + w[13] + 0xe6db99e5, 11)
    c = d + rol(c + bxor(d, a, b) + w[16] + 0x1fa27cf8, 16)
    b = c + rol(b + bxor(c, d, a) + w[3] + 0xc4ac5665, 23)
    a = b + rol(a + bxor(c, bor(b, bnot(d))) + w[1] + 0xf4292244, 6)
    d = a + rol(d + bxor(b, bor(a, bnot(c))) + w[8] + 0x432aff97, 10)
    c = d + rol(c + bxor(a, bor(d, bnot(b))) + w[15] + 0xab9423a7, 15)
    b = c + rol(b + bxor(d, bor(c, bnot(a))) + w[6] + 0xfc93a039, 21)
    a = b + rol(a + bxor(c, bor(b, bnot(d))) + w[13] + 0x655b59c3, 6)
    d = a + rol(d + bxor(b, bor(a, bnot(c))) + w[4] + 0x8f0ccc92, 10)
    c = d + rol(c + bxor(a, bor(d, bnot(b))) + w[11] + 0xffeff47d, 15)
    b = c + rol(b + bxor(d, bor(c, bnot(a))) + w[2] + 0x85845dd1, 21)
    a = b + rol(a + bxor(c, bor(b, bnot(d))) + w[9] + 0x6fa87e4f, 6)
    d = a + rol(d + bxor(b, bor(a, bnot(c))) + w[16] + 0xfe2ce6e0, 10)
    c = d + rol(c + bxor(a, bor(d, bnot(b))) + w[7] + 0xa3014314, 15)
    b = c + rol(b + bxor(d, bor(c, bnot(a))) + w[14] + 0x4e0811a1, 21)
    a = b + rol(a + bxor(c, bor(b, bnot(d))) + w[5] + 0xf7537e82, 6)
    d = a + rol(d + bxor(b, bor(a, bnot(c))) + w[12] + 0xbd3af235, 10)
    c = d + rol(c + bxor(a, bor(d, bnot(b))) + w[3] + 0x2ad7d2bb, 15)
    b = c + rol(b + bxor(d, bor(c, bnot(a))) + w[10] + 0xeb86d391, 21)
    h0, h1, h2, h3 = bit.tobit(h0 + a), bit.tobit(h1 + b), bit.tobit(h2 + c), bit.tobit(h3 + d)
  end
  return bit.tohex(bit.bswap(h0)) .. bit.tohex(bit.bswap(h1)) .. bit.tohex(bit.bswap(h2)) ..
    bit.tohex(bit.bswap(h3))
end
