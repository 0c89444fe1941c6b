-- Why this file exists: turns the rich channel's updates (`openhands/sessionUpdate`, the shapes in
-- editors/vscode/src/protocol.ts) into panel text: messages, folded thoughts and command output, diffs with
-- diff highlighting, the plan as a checklist, usage, task outcomes and approvals. One update, one append.
local M = {}
M.__index = M

local diff_fn = (vim.text and vim.text.diff) or vim.diff

--- Highlight groups, linked by default so colour schemes can override them.
M.groups = {
  OpenHandsUser = "Identifier",
  OpenHandsThought = "Comment",
  OpenHandsTool = "Statement",
  OpenHandsToolOk = "String",
  OpenHandsToolFailed = "ErrorMsg",
  OpenHandsOutput = "Comment",
  OpenHandsDiffAdd = "DiffAdd",
  OpenHandsDiffDelete = "DiffDelete",
  OpenHandsDiffHunk = "DiffChange",
  OpenHandsDiffFile = "Title",
  OpenHandsPlan = "Title",
  OpenHandsPlanDone = "Comment",
  OpenHandsPlanActive = "Todo",
  OpenHandsUsage = "Comment",
  OpenHandsState = "Title",
  OpenHandsError = "ErrorMsg",
  OpenHandsApproval = "WarningMsg",
  OpenHandsRetry = "WarningMsg",
}

function M.define_highlights()
  for group, link in pairs(M.groups) do
    vim.api.nvim_set_hl(0, group, { link = link, default = true })
  end
end

--- A renderer writing into `doc` (see doc.lua).
function M.new(doc)
  return setmetatable({ doc = doc, calls = {}, last = nil }, M)
end

local function split(text)
  if type(text) ~= "string" then
    return {}
  end
  local lines = vim.split((text:gsub("\r\n", "\n")), "\n", true)
  if #lines > 1 and lines[#lines] == "" then
    lines[#lines] = nil
  end
  return lines
end

local function str(v)
  if type(v) == "string" then
    return v
  end
  return nil
end

local function block_text(content)
  if type(content) ~= "table" then
    return nil
  end
  if content.type == "text" then
    return str(content.text)
  end
  if content.type == "content" and type(content.content) == "table" then
    return str(content.content.text)
  end
  return nil
end

--- `lines`, each indented by `indent`.
local function prefixed(lines, indent)
  local out = {}
  for i, l in ipairs(lines) do
    out[i] = indent .. l
  end
  return out
end

--- A separator line before each new kind of block, so the panel reads as paragraphs.
function M:_gap()
  if self.doc:count() > 0 then
    self.doc:append({ "" })
  end
end

--- The diff of one file as unified hunks; `+`/`-` lines get DiffAdd/DiffDelete.
function M:_diff(d, indent)
  local old, new = str(d.oldText) or "", str(d.newText) or ""
  if old ~= "" and old:sub(-1) ~= "\n" then
    old = old .. "\n"
  end
  if new ~= "" and new:sub(-1) ~= "\n" then
    new = new .. "\n"
  end
  local lines, hls = { indent .. "--- " .. tostring(d.path or "?") }, { { 1, "OpenHandsDiffFile" } }
  local text = diff_fn(old, new, { result_type = "unified", ctxlen = 3 }) or ""
  for _, l in ipairs(split(text)) do
    lines[#lines + 1] = indent .. l
    local c = l:sub(1, 1)
    local group = (c == "+" and "OpenHandsDiffAdd") or (c == "-" and "OpenHandsDiffDelete")
      or (l:sub(1, 2) == "@@" and "OpenHandsDiffHunk") or nil
    if group then
      hls[#hls + 1] = { #lines, group }
    end
  end
  if #lines == 1 then
    lines[2] = indent .. "(no change)"
  end
  self.doc:append(lines, hls)
end

local marks = { in_progress = "▶", pending = "▶", completed = "✓", failed = "✗" }

function M:_header(call)
  local suffix = ""
  if call.exit ~= nil then
    suffix = " (exit " .. tostring(call.exit) .. ")"
  end
  return (marks[call.status] or "▶") .. " " .. call.title .. suffix
end

local function header_group(status)
  return (status == "completed" and "OpenHandsToolOk") or (status == "failed" and "OpenHandsToolFailed")
    or "OpenHandsTool"
end

--- Runs `f(self, ...)` with the document's appends held back, then writes them as one.
function M:_batched(f, ...)
  local doc = self.doc
  doc.batch = doc.batch + 1
  local ok, err = pcall(f, self, ...)
  doc.batch = doc.batch - 1
  if doc.batch == 0 then
    doc:flush()
  end
  if not ok then
    error(err, 0)
  end
end

--- Renders one update (`params.update` of `openhands/sessionUpdate`) as one write to the buffer.
function M:update(u)
  self:_batched(self._update, u)
end

function M:_update(u)
  if type(u) ~= "table" then
    return
  end
  local kind = u.sessionUpdate
  local doc = self.doc
  if kind == "user_message_chunk" then
    self:_gap()
    local lines = split(block_text(u.content))
    lines[1] = "You: " .. (lines[1] or "")
    for i = 2, #lines do
      lines[i] = lines[i] == "" and "" or ("     " .. lines[i])
    end
    doc:append(lines, { { 1, "OpenHandsUser", 0, 4 } })
    self.last = kind
  elseif kind == "agent_message_chunk" then
    local lines = split(block_text(u.content))
    if #lines == 0 then
      return
    end
    self:_gap()
    doc:append(lines)
    self.last = kind
  elseif kind == "agent_thought_chunk" then
    local lines = split(block_text(u.content))
    if #lines == 0 then
      return
    end
    self:_gap()
    lines[1] = "Thought: " .. lines[1]
    local hls = {}
    for i = 1, #lines do
      hls[i] = { i, "OpenHandsThought" }
    end
    doc:append(lines, hls, { 1, #lines })
    self.last = kind
  elseif kind == "tool_call" then
    self:_gap()
    local call = {
      title = str(u.title) or str(u.kind) or "tool",
      status = str(u.status) or "in_progress",
      kind = u.kind,
    }
    call.row = doc:append({ self:_header(call) }, { { 1, header_group(call.status) } })
    local raw = type(u.rawInput) == "table" and u.rawInput or {}
    local command = str(raw.command)
    if u.kind == "execute" and command and command:find("\n", 1, true) then
      doc:append(prefixed(split(command), "  $ "), nil, nil)
    end
    for _, c in ipairs(type(u.content) == "table" and u.content or {}) do
      if type(c) == "table" and c.type == "diff" then
        self:_diff(c, "  ")
        call.diff = true
      end
    end
    if u.toolCallId then
      self.calls[u.toolCallId] = call
    end
    self.last = u.toolCallId
  elseif kind == "tool_call_update" then
    local call = self.calls[u.toolCallId]
    if not call then
      -- The result of something that was no tool call here (a thought, a plan): already shown.
      return
    end
    if u.status then
      call.status = u.status
    end
    if type(u.rawOutput) == "table" and type(u.rawOutput.exitCode) == "number" then
      call.exit = u.rawOutput.exitCode
    end
    doc:set_row(call.row, self:_header(call), header_group(call.status))
    for _, c in ipairs(type(u.content) == "table" and u.content or {}) do
      if type(c) == "table" and c.type == "diff" then
        if not call.diff then
          self:_diff(c, "  ")
          call.diff = true
        end
      else
        local lines = split(block_text(c))
        if #lines > 0 then
          local out, first = {}, 1
          if self.last ~= u.toolCallId then
            -- Something came between the call and its output: say whose output this is.
            out[1] = "  ↳ " .. call.title
            first = 2
          end
          for _, l in ipairs(lines) do
            out[#out + 1] = "  " .. l
          end
          local hls = {}
          if first == 2 then
            hls[1] = { 1, header_group(call.status) }
          end
          -- Output is folded; a failure stays open, since it is what the user needs to read.
          local fold = call.status ~= "failed" and { first, #out } or nil
          doc:append(out, hls, fold)
        end
      end
    end
    self.last = u.toolCallId
  elseif kind == "plan" then
    self:_gap()
    local lines, hls = { "Plan:" }, { { 1, "OpenHandsPlan" } }
    for _, e in ipairs(type(u.entries) == "table" and u.entries or {}) do
      local box = (e.status == "completed" and "[x]") or (e.status == "in_progress" and "[~]") or "[ ]"
      lines[#lines + 1] = "  " .. box .. " " .. tostring(e.content or "")
      if e.status == "completed" then
        hls[#hls + 1] = { #lines, "OpenHandsPlanDone" }
      elseif e.status == "in_progress" then
        hls[#hls + 1] = { #lines, "OpenHandsPlanActive" }
      end
    end
    doc:append(lines, hls)
    self.last = kind
  elseif kind == "usage_update" then
    local cost = type(u.cost) == "table" and u.cost or {}
    local line = ("── usage: %s prompt + %s completion tokens"):format(
      tostring(u.promptTokens or 0),
      tostring(u.completionTokens or 0)
    )
    if type(cost.amount) == "number" then
      line = line .. (" · %.4f %s"):format(cost.amount, tostring(cost.currency or "USD"))
    end
    doc:append({ line }, { { 1, "OpenHandsUsage" } })
    self.last = kind
  end
end

--- A one-line status in the panel: the task's outcome or a message from the server.
function M:status(text, group)
  local lines = split(text)
  if #lines == 0 then
    return
  end
  lines[1] = "── " .. lines[1]
  local hls = {}
  for i = 1, #lines do
    hls[i] = { i, group or "OpenHandsState" }
  end
  self.doc:append(lines, hls)
  self.last = "status"
end

--- An approval the agent waits for: what it wants to run, why, and the command or the diff.
function M:approval(a)
  self:_batched(self._approval, a)
end

function M:_approval(a)
  -- The call it is about is usually the block just above: its command and diff are there already.
  local call = a.toolCallId and self.calls[a.toolCallId]
  local above = call and self.last == a.toolCallId
  self:_gap()
  local lines = { ("? Approve %s (%s)  [#%s]"):format(tostring(a.title), tostring(a.reason or "asked"), tostring(a.approvalId)) }
  local hls = { { 1, "OpenHandsApproval" } }
  local command = str(a.command)
  if command and not above then
    for _, l in ipairs(split(command)) do
      lines[#lines + 1] = "  $ " .. l
    end
  end
  self.doc:append(lines, hls)
  if type(a.diff) == "table" and not (above and call.diff) then
    self:_diff(a.diff, "  ")
  end
  -- What follows (the answer, then the call's output) still belongs to the call.
  self.last = a.toolCallId or "approval"
end

--- The answer to an approval, under it.
function M:approval_answered(a, text)
  self.doc:append({ "  → " .. text }, { { 1, "OpenHandsApproval" } })
  self.last = a.toolCallId or "approval"
end

return M
