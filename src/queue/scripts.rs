//! The queue's state changes, each one Lua script so that a job's hash, its state's sorted
//! set, its stream entry and the change feed always move together (Redis runs a script
//! atomically). Keys are built from the prefix passed in ARGV[1]: one Redis server, not a
//! cluster.

/// Shared by every script: move a job to a new state and tell the dashboards.
const PRELUDE: &str = r#"
local prefix = ARGV[1]
local function key(...) return prefix .. ':' .. table.concat({...}, ':') end
local function set_state(id, from, to, score)
  if from then redis.call('ZREM', key('state', from), id) end
  redis.call('ZADD', key('state', to), score, id)
  redis.call('HSET', key('job', id), 'status', to)
  redis.call('XADD', key('changes'), 'MAXLEN', '~', 1000, '*', 'id', id, 'status', to)
end
local function trim(state, keep)
  local old = redis.call('ZRANGE', key('state', state), 0, -(keep + 1))
  for _, id in ipairs(old) do redis.call('ZREM', key('state', state), id) end
end
"#;

/// ARGV: prefix, id, name, data, now-ms. Returns 1 when added, 0 when the id is known
/// (enqueued before, whatever became of it).
pub const ENQUEUE: &str = r#"
local id, name, data, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', key('job', id)) == 1 then return 0 end
local entry = redis.call('XADD', key('stream', name), '*', 'id', id)
redis.call('HSET', key('job', id), 'name', name, 'data', data, 'attempts', 0,
  'timestamp', now, 'entry', entry)
set_state(id, nil, 'waiting', now)
return 1
"#;

/// ARGV: prefix, id, stream entry, now-ms, max attempts. A delivery (new or reclaimed)
/// becomes an attempt. Returns {verdict, attempts, name, data}: `run`, or `stale` (the entry
/// is not the job's current one: acknowledge and drop it), or `exhausted` (earlier
/// deliveries died with their worker as often as attempts allow; the job is now failed).
pub const START: &str = r#"
local id, entry, now, max = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local job = key('job', id)
local status = redis.call('HGET', job, 'status')
if not status or redis.call('HGET', job, 'entry') ~= entry
   or status == 'completed' or status == 'failed' then
  return {'stale', 0, '', ''}
end
local name = redis.call('HGET', job, 'name')
local data = redis.call('HGET', job, 'data')
local attempts = tonumber(redis.call('HGET', job, 'attempts'))
if attempts >= max then
  redis.call('XACK', key('stream', name), 'workers', entry)
  redis.call('XDEL', key('stream', name), entry)
  redis.call('HSET', job, 'finishedOn', now, 'failedReason',
    'the worker stopped during each of ' .. attempts .. ' attempts')
  set_state(id, status, 'failed', now)
  trim('failed', 1000)
  redis.call('PEXPIRE', job, 604800000)
  return {'exhausted', attempts, name, data}
end
attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('HSET', job, 'processedOn', now)
set_state(id, status, 'active', now)
return {'run', attempts, name, data}
"#;

/// ARGV: prefix, id, stream entry, now-ms. Completed jobs are kept a week (their ids keep
/// enqueueing idempotent) and the newest 1,000 are listed.
pub const COMPLETE: &str = r#"
local id, entry, now = ARGV[2], ARGV[3], ARGV[4]
local job = key('job', id)
if redis.call('HGET', job, 'entry') ~= entry then return 0 end
local name = redis.call('HGET', job, 'name')
redis.call('XACK', key('stream', name), 'workers', entry)
redis.call('XDEL', key('stream', name), entry)
redis.call('HSET', job, 'finishedOn', now)
set_state(id, redis.call('HGET', job, 'status'), 'completed', now)
trim('completed', 1000)
redis.call('PEXPIRE', job, 604800000)
return 1
"#;

/// ARGV: prefix, id, stream entry, now-ms, reason, stack trace (JSON), max attempts,
/// back-off ms. Returns 1 when the job will be tried again, 2 when it has failed for good.
pub const FAIL: &str = r#"
local id, entry, now, reason, stack = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local max, backoff = tonumber(ARGV[7]), tonumber(ARGV[8])
local job = key('job', id)
if redis.call('HGET', job, 'entry') ~= entry then return 0 end
local name = redis.call('HGET', job, 'name')
local status = redis.call('HGET', job, 'status')
redis.call('XACK', key('stream', name), 'workers', entry)
redis.call('XDEL', key('stream', name), entry)
redis.call('HSET', job, 'failedReason', reason, 'stacktrace', stack, 'entry', '')
local attempts = tonumber(redis.call('HGET', job, 'attempts'))
if attempts < max then
  local due = now + backoff * (2 ^ (attempts - 1))
  redis.call('ZADD', key('delayed'), due, id)
  set_state(id, status, 'delayed', due)
  return 1
end
redis.call('HSET', job, 'finishedOn', now)
set_state(id, status, 'failed', now)
trim('failed', 1000)
redis.call('PEXPIRE', job, 604800000)
return 2
"#;

/// ARGV: prefix, now-ms, limit. Puts due delayed jobs back on their streams, a bounded
/// number per call so a large backlog never makes one long script.
pub const PROMOTE: &str = r#"
local now, limit = ARGV[2], tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', key('delayed'), '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', key('delayed'), id)
  local job = key('job', id)
  local name = redis.call('HGET', job, 'name')
  if name then
    local entry = redis.call('XADD', key('stream', name), '*', 'id', id)
    redis.call('HSET', job, 'entry', entry)
    set_state(id, redis.call('HGET', job, 'status'), 'waiting', now)
  end
end
return #due
"#;

pub fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{PRELUDE}{body}"))
}
