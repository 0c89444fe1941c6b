-- Why this file exists: the panel's text as an append-only document over one scratch buffer, so that every
-- update costs one append (lines, highlights, folds) and never a redraw of what is already there.
local M = {}
M.__index = M

local api = vim.api

M.ns = api.nvim_create_namespace("openhands_panel")

--- A document over `buf` (a fresh scratch buffer holding one empty line).
function M.new(buf)
  return setmetatable({
    buf = buf,
    flushed = 0, -- lines already in the buffer
    pending = {}, -- lines not yet in the buffer
    pending_hl = {}, -- { row, group, col_start, col_end, to_end_of_line }
    folds = {}, -- every fold, { first, last } 1-based, for windows opened later
    new_folds = {}, -- folds not yet made in the open windows
    batch = 0, -- > 0: appends wait for `flush()` (history replay)
    follow = {}, -- windows to move to the end once the current burst of updates is written
  }, M)
end

--- Lines in the document (flushed and pending).
function M:count()
  return self.flushed + #self.pending
end

--- Appends `lines`; `hls` are { index, group, col_start?, col_end? } with a 1-based index into `lines`
--- (no columns: the whole line); `fold` is { first_index, last_index } or nil. Returns the first row (0-based).
function M:append(lines, hls, fold)
  local first = self:count()
  for i = 1, #lines do
    self.pending[#self.pending + 1] = lines[i]
  end
  if hls then
    for _, h in ipairs(hls) do
      local s, e = h[3], h[4]
      if not s then
        s, e = 0, #lines[h[1]]
      end
      self.pending_hl[#self.pending_hl + 1] = { first + h[1] - 1, h[2], s, e, h[3] == nil }
    end
  end
  -- A one-line fold cannot be closed ('foldminlines'), so it is not made.
  if fold and fold[2] > fold[1] then
    local f = { first + fold[1], first + fold[2] }
    self.folds[#self.folds + 1] = f
    self.new_folds[#self.new_folds + 1] = f
  end
  if self.batch == 0 then
    self:flush()
  end
  return first
end

--- Replaces the text of one row (0-based) and its highlight, wherever it is.
function M:set_row(row, text, group)
  if row >= self.flushed then
    self.pending[row - self.flushed + 1] = text
  else
    self:_write(row, row + 1, { text })
    api.nvim_buf_clear_namespace(self.buf, M.ns, row, row + 1)
  end
  if group then
    self.pending_hl[#self.pending_hl + 1] = { row, group, 0, #text, true }
  end
  if self.batch == 0 then
    self:flush()
  end
end

-- vim.bo costs more than the write itself; the API call is the same option, cheaper.
local set_option = api.nvim_buf_set_option
  or function(buf, name, value)
    api.nvim_set_option_value(name, value, { buf = buf })
  end

function M:_write(first, last, lines)
  set_option(self.buf, "modifiable", true)
  api.nvim_buf_set_lines(self.buf, first, last, false, lines)
  set_option(self.buf, "modifiable", false)
end

local function set_hl(buf, h)
  api.nvim_buf_set_extmark(buf, M.ns, h[1], h[3], { end_row = h[1], end_col = h[4], hl_group = h[2], hl_eol = h[5] })
end

--- Makes folds `list` in window `win` (which shows this buffer with 'foldmethod' manual).
local function make_folds(win, list)
  if #list == 0 then
    return
  end
  api.nvim_win_call(win, function()
    for _, f in ipairs(list) do
      vim.cmd(f[1] .. "," .. f[2] .. "fold")
    end
  end)
end

--- The windows showing this buffer.
function M:windows()
  local out = {}
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == self.buf then
      out[#out + 1] = win
    end
  end
  return out
end

--- Writes what is pending into the buffer: one append, its highlights, its folds; windows whose cursor was
--- on the last line follow the end.
function M:flush()
  if #self.pending == 0 and #self.pending_hl == 0 then
    return
  end
  local wins = self:windows()
  for _, win in ipairs(wins) do
    if not self.follow[win] and api.nvim_win_get_cursor(win)[1] >= self.flushed then
      self.follow[win] = true
    end
  end
  if #self.pending > 0 then
    -- A fresh buffer holds one empty line: the first append replaces it.
    local first = self.flushed == 0 and 0 or -1
    self:_write(first, -1, self.pending)
    self.flushed = self.flushed + #self.pending
    self.pending = {}
  end
  for _, h in ipairs(self.pending_hl) do
    set_hl(self.buf, h)
  end
  self.pending_hl = {}
  for _, win in ipairs(wins) do
    make_folds(win, self.new_folds)
  end
  -- Windows that showed the end follow it, moved once per burst of updates (moving costs more than writing).
  if next(self.follow) and not self.follow_scheduled then
    self.follow_scheduled = true
    vim.schedule(function()
      self.follow_scheduled = false
      for win in pairs(self.follow) do
        if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == self.buf then
          api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(self.buf), 0 })
        end
      end
      self.follow = {}
    end)
  end
  self.new_folds = {}
end

--- 'foldtext' of the panel: what is folded and how long it is.
function M.foldtext()
  local first = vim.fn.getline(vim.v.foldstart)
  local n = vim.v.foldend - vim.v.foldstart + 1
  local indent, text = first:match("^(%s*)(.-)%s*$")
  if text:sub(1, 8) == "Thought:" then
    return ("▸ %s  (%d lines)"):format(text, n)
  end
  return ("%s▸ %d lines: %s"):format(indent, n, text)
end

--- Sets up a window that starts showing this buffer: manual folds, rebuilt from the document.
function M:show_in(win)
  local wo = vim.wo[win]
  wo.foldmethod = "manual"
  wo.foldlevel = 0
  wo.foldenable = true
  wo.foldtext = "v:lua.require'openhands.doc'.foldtext()"
  api.nvim_win_call(win, function()
    vim.cmd("silent! normal! zE")
  end)
  make_folds(win, self.folds)
  if self.flushed > 0 then
    api.nvim_win_set_cursor(win, { self.flushed, 0 })
  end
end

--- Empties the document and its buffer.
function M:clear()
  self:_write(0, -1, {})
  api.nvim_buf_clear_namespace(self.buf, M.ns, 0, -1)
  for _, win in ipairs(self:windows()) do
    api.nvim_win_call(win, function()
      vim.cmd("silent! normal! zE")
    end)
  end
  self.flushed, self.pending, self.pending_hl, self.folds, self.new_folds = 0, {}, {}, {}, {}
end

return M
