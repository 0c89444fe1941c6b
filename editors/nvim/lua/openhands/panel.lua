-- Why this file exists: the conversation panel, a split scratch buffer that shows the rich stream live; it
-- owns the buffer, its window and the document and renderer that write into it.
local Doc = require("openhands.doc")
local Render = require("openhands.render")

local M = {}
local api = vim.api

local state = { buf = nil, doc = nil, render = nil, conversation = nil }
local options = { position = "right", size = nil }

function M.configure(panel_options)
  options = vim.tbl_extend("force", options, panel_options or {})
end

local function buffer()
  if state.buf and api.nvim_buf_is_valid(state.buf) then
    return state.buf
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(buf, "openhands://panel")
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "openhands"
  Render.define_highlights()
  state.buf = buf
  state.doc = Doc.new(buf)
  state.render = Render.new(state.doc)
  return buf
end

--- The renderer (creating the buffer when needed).
function M.renderer()
  buffer()
  return state.render
end

function M.buf()
  return buffer()
end

function M.doc()
  buffer()
  return state.doc
end

--- The window showing the panel, if any.
function M.window()
  if not (state.buf and api.nvim_buf_is_valid(state.buf)) then
    return nil
  end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == state.buf then
      return win
    end
  end
  return nil
end

local splits = {
  right = { cmd = "botright vsplit", vertical = true },
  left = { cmd = "topleft vsplit", vertical = true },
  bottom = { cmd = "botright split", vertical = false },
  top = { cmd = "topleft split", vertical = false },
}

--- Opens the panel without moving the cursor out of the current window (unless `focus`).
function M.open(focus)
  local win = M.window()
  if win then
    if focus then
      api.nvim_set_current_win(win)
    end
    return win
  end
  local buf = buffer()
  local from = api.nvim_get_current_win()
  local how = splits[options.position] or splits.right
  vim.cmd(how.cmd)
  win = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, buf)
  local size = options.size
    or (how.vertical and math.max(40, math.floor(vim.o.columns * 0.4)) or math.max(10, math.floor(vim.o.lines * 0.3)))
  if how.vertical then
    api.nvim_win_set_width(win, size)
  else
    api.nvim_win_set_height(win, size)
  end
  local wo = vim.wo[win]
  wo.number = false
  wo.relativenumber = false
  wo.signcolumn = "no"
  wo.wrap = true
  wo.linebreak = true
  wo.list = false
  wo.cursorline = false
  wo.spell = false
  wo.foldcolumn = "1"
  wo.fillchars = "fold: ,eob: "
  state.doc:show_in(win)
  if not focus and api.nvim_win_is_valid(from) then
    api.nvim_set_current_win(from)
  end
  return win
end

function M.close()
  local win = M.window()
  if win and #api.nvim_tabpage_list_wins(0) > 1 then
    api.nvim_win_close(win, false)
  end
end

function M.toggle()
  if M.window() then
    M.close()
  else
    M.open(false)
  end
end

--- Starts over for conversation `id` (a new conversation or one replayed from history).
function M.reset(id)
  buffer()
  state.doc:clear()
  state.render = Render.new(state.doc)
  state.conversation = id
end

function M.conversation()
  return state.conversation
end

--- One `openhands/sessionUpdate`'s params, appended as it arrives.
function M.session_update(params)
  if type(params) ~= "table" then
    return
  end
  if params.sessionId and state.conversation ~= params.sessionId then
    -- Another conversation (a new task after a finished one): the panel keeps the old one above a rule.
    if state.conversation then
      M.renderer():status("conversation " .. tostring(params.sessionId))
    end
    state.conversation = params.sessionId
  end
  M.renderer():update(params.update)
end

--- Stored updates (from `openhands/sessionHistory`), rendered as one append.
function M.replay(updates)
  local doc = M.doc()
  doc.batch = doc.batch + 1
  local ok, err = pcall(function()
    for _, p in ipairs(updates or {}) do
      state.render:update(type(p) == "table" and p.update or nil)
    end
  end)
  doc.batch = doc.batch - 1
  doc:flush()
  if not ok then
    error(err)
  end
end

return M
