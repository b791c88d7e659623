/**
 * The whole distributed decision in ONE script (one round trip, atomic across the policies of a
 * request): a request is admitted only when every policy admits it, and only an admitted request
 * consumes — a refused one costs nothing, so a client hammering at 429 cannot starve itself
 * further. Time is Redis's own clock (TIME), so instances with skewed clocks share one timeline.
 * Every key gets a TTL equal to the time its TAT needs to fall back to "now" (BRIEF §6).
 *
 * KEYS[i]: TAT key of policy i. ARGV[1]: cost (0 = peek, 1 = consume).
 * ARGV[2i], ARGV[2i+1]: emission interval and window of policy i, integer µs.
 * Returns {admitted, now, tat_1, …, tat_n} with each TAT as in force after the decision (µs).
 * The arithmetic mirrors gcra.ts exactly; a test runs both on the same sequence.
 */
export const gcraLuaScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local admitted = 1
local tats = {}
local fresh = {}
for i = 1, #KEYS do
  local emission = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then tat = now end
  tats[i] = tat
  fresh[i] = tat + emission * cost
  if now < fresh[i] - window then admitted = 0 end
end
local reply = {admitted, now}
for i = 1, #KEYS do
  if admitted == 1 and cost > 0 then
    tats[i] = fresh[i]
    local ttl = math.ceil((fresh[i] - now) / 1000)
    if ttl < 1 then ttl = 1 end
    redis.call('SET', KEYS[i], string.format('%.0f', fresh[i]), 'PX', ttl)
  end
  reply[#reply + 1] = tats[i]
end
return reply
`;
