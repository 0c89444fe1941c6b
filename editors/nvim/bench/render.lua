-- Why this file exists: measures the panel's rendering of stored updates against a baseline of plain
-- nvim_buf_set_lines in the same run, so a slow renderer shows up on any machine and either Neovim version.
-- Run: nvim --headless -u NONE -i NONE -n --cmd 'set rtp+=editors/nvim' +'luafile editors/nvim/bench/render.lua'
-- (OH_BENCH_UPDATES sets the number of updates; default 2000.)
local api = vim.api
local uv = vim.uv or vim.loop
local n = tonumber(os.getenv("OH_BENCH_UPDATES") or "") or 2000
local rounds = 7

--- `n` updates in the shapes the server sends (protocol.ts): a mix of what a real task produces.
local function updates()
  local out = {}
  local i = 0
  local function push(u)
    i = i + 1
    out[#out + 1] = { sessionId = "bench", _meta = { seq = i, taskId = "t1" }, update = u }
  end
  local k = 0
  while #out < n do
    k = k + 1
    local id = "call_" .. k
    local pick = k % 8
    if pick == 0 then
      push({ sessionUpdate = "user_message_chunk", content = { type = "text", text = "make test " .. k .. " pass" } })
    elseif pick == 1 then
      push({ sessionUpdate = "agent_thought_chunk", content = { type = "text", text = "Step " .. k .. ".\nLook at the failing assertion.\nThen fix it." } })
    elseif pick == 2 or pick == 5 then
      push({ sessionUpdate = "agent_message_chunk", content = { type = "text", text = "Running the tests for module " .. k .. "." } })
      push({ sessionUpdate = "tool_call", toolCallId = id, title = "$ cargo test module_" .. k, kind = "execute",
        status = "in_progress", rawInput = { command = "cargo test module_" .. k } })
      local lines = {}
      for l = 1, 12 do
        lines[l] = "test module_" .. k .. "::case_" .. l .. " ... ok"
      end
      push({ sessionUpdate = "tool_call_update", toolCallId = id, status = "completed",
        content = { { type = "content", content = { type = "text", text = table.concat(lines, "\n") } } },
        rawOutput = { exitCode = 0 } })
    elseif pick == 3 then
      local old, new = {}, {}
      for l = 1, 10 do
        old[l] = "line " .. l .. " of file " .. k
        new[l] = l % 4 == 0 and ("changed line " .. l) or old[l]
      end
      push({ sessionUpdate = "tool_call", toolCallId = id, title = "str_replace src/m" .. k .. ".rs", kind = "edit",
        status = "in_progress", content = { { type = "diff", path = "src/m" .. k .. ".rs",
          oldText = table.concat(old, "\n"), newText = table.concat(new, "\n") } } })
      push({ sessionUpdate = "tool_call_update", toolCallId = id, status = "completed",
        content = { { type = "diff", path = "src/m" .. k .. ".rs", oldText = table.concat(old, "\n"),
          newText = table.concat(new, "\n") } } })
    elseif pick == 4 then
      push({ sessionUpdate = "plan", entries = {
        { content = "Read the failing test", priority = "medium", status = "completed" },
        { content = "Fix module " .. k, priority = "medium", status = "in_progress" },
        { content = "Run the whole suite", priority = "medium", status = "pending" },
      } })
    elseif pick == 6 then
      push({ sessionUpdate = "tool_call", toolCallId = id, title = "read src/m" .. k .. ".rs", kind = "read",
        status = "in_progress", rawInput = { path = "src/m" .. k .. ".rs" } })
      push({ sessionUpdate = "tool_call_update", toolCallId = id, status = "completed",
        content = { { type = "content", content = { type = "text", text = "fn main() {\n    run();\n}\n" } } } })
    else
      push({ sessionUpdate = "usage_update", promptTokens = 1000 * k, completionTokens = 50 * k,
        cost = { amount = 0.001 * k, currency = "USD" } })
    end
  end
  while #out > n do
    out[#out] = nil
  end
  return out
end

--- Wall-clock milliseconds of `f()`; its CPU milliseconds (os.clock: this process only, so less disturbed by
--- a busy machine) go to `cpu`.
local function ms(f, cpu)
  local c, t = os.clock(), uv.hrtime()
  f()
  cpu[#cpu + 1] = (os.clock() - c) * 1000
  return (uv.hrtime() - t) / 1e6
end

--- "median (min), cpu median" of the rounds: the median is the figure; the minimum and the CPU time show how
--- much a busy machine added.
local function median(xs, cpu)
  table.sort(xs)
  table.sort(cpu)
  return ("%7.1f ms (min %.1f; cpu %.1f)"):format(xs[math.ceil(#xs / 2)], xs[1], cpu[math.ceil(#cpu / 2)])
end

local panel = require("openhands.panel")
local stored = updates()
panel.open(false)

local live, replay, lines, folds = {}, {}, 0, 0
local live_cpu, replay_cpu, appends_cpu, one_cpu = {}, {}, {}, {}
for r = 1, rounds do
  panel.reset("bench")
  live[r] = ms(function()
    for _, p in ipairs(stored) do
      panel.session_update(p)
    end
    -- Include the window following the end, which runs once the burst is written.
    vim.wait(1000, function()
      return not panel.doc().follow_scheduled
    end, 1)
  end, live_cpu)
  lines = api.nvim_buf_line_count(panel.buf())
  folds = #panel.doc().folds
  panel.reset("bench")
  replay[r] = ms(function()
    panel.replay(stored)
  end, replay_cpu)
  assert(api.nvim_buf_line_count(panel.buf()) == lines, "replay and live render differ")
end

-- The baseline: the same number of plain lines into a scratch buffer shown in a window, as many appends as
-- updates, and as one call.
local plain = {}
for i = 1, lines do
  plain[i] = "plain line " .. i
end
local per = math.max(1, math.floor(lines / n))
local base_appends, base_one = {}, {}
vim.cmd("botright split")
for r = 1, rounds do
  local buf = api.nvim_create_buf(false, true)
  api.nvim_win_set_buf(0, buf)
  base_appends[r] = ms(function()
    local i = 1
    while i <= lines do
      api.nvim_buf_set_lines(buf, -1, -1, false, { unpack(plain, i, math.min(lines, i + per - 1)) })
      i = i + per
    end
  end, appends_cpu)
  local buf2 = api.nvim_create_buf(false, true)
  api.nvim_win_set_buf(0, buf2)
  base_one[r] = ms(function()
    api.nvim_buf_set_lines(buf2, 0, -1, false, plain)
  end, one_cpu)
end

local v = vim.version()
local out = {
  ("openhands.nvim panel benchmark, Neovim %d.%d.%d: %d updates -> %d lines, %d folds, median of %d rounds"):format(
    v.major, v.minor, v.patch, n, lines, folds, rounds),
  ("  live (one append per update): %s"):format(median(live, live_cpu)),
  ("  replay (one append):          %s"):format(median(replay, replay_cpu)),
  ("  baseline, %d plain appends of %d lines: %s"):format(math.ceil(lines / per), per, median(base_appends, appends_cpu)),
  ("  baseline, one nvim_buf_set_lines of %d lines: %s"):format(lines, median(base_one, one_cpu)),
}
io.stdout:write(table.concat(out, "\n") .. "\n")
vim.cmd("qall!")
