-- Why this file exists: the agent asks before risky actions; this shows the command or the diff (in the panel,
-- or a float when the panel is closed), asks through `vim.ui.select`, and answers the server. One question
-- at a time; one that the server resolved meanwhile (answered elsewhere, timed out) is not asked.
local client = require("openhands.client")
local panel = require("openhands.panel")
local status = require("openhands.status")

local M = {}
local api = vim.api

M.choices = { "Allow once", "Allow for this conversation", "Reject" }
local decisions = { ["Allow once"] = "allow_once", ["Allow for this conversation"] = "allow_always", Reject = "reject" }
local said = {
  allow_once = "allowed once",
  allow_always = "allowed for this conversation",
  reject = "rejected",
  timeout = "timed out: not run",
  cancelled = "withdrawn: the task ended",
}

local queue = {}
local asking = nil
local resolved = {}

--- A float with the approval's command or diff, for when the panel is not open; returns a closer.
local function float(a)
  local lines = { tostring(a.title) .. " (" .. tostring(a.reason or "asked") .. ")" }
  if type(a.command) == "string" then
    for _, l in ipairs(vim.split(a.command, "\n", true)) do
      lines[#lines + 1] = "$ " .. l
    end
  end
  if type(a.diff) == "table" then
    local diff = ((vim.text and vim.text.diff) or vim.diff)(
      (type(a.diff.oldText) == "string" and a.diff.oldText or "") .. "\n",
      (type(a.diff.newText) == "string" and a.diff.newText or "") .. "\n",
      { result_type = "unified" }
    )
    lines[#lines + 1] = "--- " .. tostring(a.diff.path)
    for _, l in ipairs(vim.split(diff or "", "\n", true)) do
      if l ~= "" then
        lines[#lines + 1] = l
      end
    end
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = "diff"
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  width = math.min(width + 2, vim.o.columns - 4)
  local height = math.min(#lines, math.max(3, vim.o.lines - 8))
  local win = api.nvim_open_win(buf, false, {
    relative = "editor",
    row = 1,
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    width = width,
    height = height,
    style = "minimal",
    border = "single",
  })
  return function()
    if api.nvim_win_is_valid(win) then
      api.nvim_win_close(win, true)
    end
  end
end

local function note(a, decision)
  panel.renderer():approval_answered(a, ("#%s %s"):format(tostring(a.approvalId), said[decision] or decision))
end

local ask_next

--- Shows `a` and asks; `answer(decision)` sends it.
local function ask(a, answer)
  asking = a
  panel.renderer():approval(a)
  local close = function() end
  if not panel.window() then
    close = float(a)
  end
  -- No echo here: a scheduled one lands after `inputlist` returns, on the prompt's own line, and the
  -- wrapped line raised a hit-enter prompt on Neovim 0.7 (found in tmux). The prompt says it all.
  local prompt = ("OpenHands wants to run: %s (%s)"):format(tostring(a.title), tostring(a.reason or "asked"))
  vim.ui.select(M.choices, { prompt = prompt, kind = "openhands.approval" }, function(choice)
    -- Clear what the default `inputlist` left in the message area, or the next message stacks on it and
    -- asks the user to press Enter.
    vim.cmd("redraw")
    close()
    local decision = decisions[choice] or "reject"
    asking = nil
    answer(decision)
    vim.schedule(ask_next)
  end)
end

ask_next = function()
  while not asking and #queue > 0 do
    local a = table.remove(queue, 1)
    if resolved[a.approvalId] then
      note(a, resolved[a.approvalId])
    else
      ask(a, function(decision)
        note(a, decision)
        client.execute("openhands.approval.respond", { a.approvalId, decision }, function(err, result)
          if type(result) == "table" and result.answered == false then
            panel.renderer():approval_answered(a, "#" .. tostring(a.approvalId) .. " was settled before this answer")
          end
          if err then
            status.echo("OpenHands: the answer to approval #" .. tostring(a.approvalId) .. " failed: "
              .. tostring(err.message), "ErrorMsg")
          end
        end)
      end)
    end
  end
end

--- `openhands/approvalRequest`.
function M.request(a)
  if type(a) ~= "table" or a.approvalId == nil then
    return
  end
  queue[#queue + 1] = a
  vim.schedule(ask_next)
end

--- `openhands/approvalResolved`: one still queued is dropped; one being asked is noted in the panel.
function M.resolved(r)
  if type(r) ~= "table" or r.approvalId == nil then
    return
  end
  resolved[r.approvalId] = r.decision
  if asking and asking.approvalId == r.approvalId and (r.decision == "timeout" or r.decision == "cancelled") then
    note(asking, r.decision)
  end
end

--- `window/showMessageRequest` from servers before `approvalUi = "client"`: "OpenHands wants to run: <what>
--- (<why>)  [#a1]". Answers with the chosen action; runs in the handler's coroutine on 0.11, else waits.
function M.legacy(params)
  local what, id = tostring(params.message):match("^OpenHands wants to run: (.-)%s+%[#([%w_-]+)%]$")
  if not what then
    return nil
  end
  local title, reason = what:match("^(.*) %((.-)%)$")
  local a = { approvalId = id, title = title or what, reason = reason or "asked" }
  local answer = nil
  local co, is_main = coroutine.running()
  local in_co = co ~= nil and not is_main
  ask(a, function(decision)
    note(a, decision)
    local item = vim.NIL
    for _, action in ipairs(params.actions or {}) do
      if decisions[action.title] == decision then
        item = action
      end
    end
    answer = item
    if in_co and coroutine.status(co) == "suspended" then
      vim.schedule(function()
        coroutine.resume(co)
      end)
    end
  end)
  if answer == nil then
    if in_co then
      coroutine.yield()
    else
      vim.wait(600000, function()
        return answer ~= nil
      end, 50)
    end
  end
  return answer or vim.NIL
end

return M
