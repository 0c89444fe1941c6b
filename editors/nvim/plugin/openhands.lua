-- Why this file exists: defines the :OpenHands* commands when Neovim starts (0.7+); the modules load on first
-- use, and the server starts in require("openhands").setup{} (or at the first command without it).
if vim.g.loaded_openhands then
  return
end
vim.g.loaded_openhands = 1
if vim.fn.has("nvim-0.7") == 0 then
  vim.api.nvim_echo({ { "openhands.nvim needs Neovim 0.7 or newer", "WarningMsg" } }, true, {})
  return
end

local function oh()
  return require("openhands")
end

local command = vim.api.nvim_create_user_command

command("OpenHands", function(o)
  oh().task(o.args, o.range > 0 and { o.line1, o.line2 } or nil)
end, { nargs = "*", range = true, desc = "OpenHands: start a task (with a range: about those lines)" })

command("OpenHandsReply", function(o)
  oh().reply(o.args)
end, { nargs = "+", desc = "OpenHands: answer the task that waits for you" })

command("OpenHandsStop", function()
  oh().stop()
end, { nargs = 0, desc = "OpenHands: cancel the running task" })

command("OpenHandsResume", function(o)
  oh().resume(o.args)
end, { nargs = "?", desc = "OpenHands: pick a stored conversation, continue it and replay it" })

command("OpenHandsPanel", function()
  oh().toggle_panel()
end, { nargs = 0, desc = "OpenHands: toggle the conversation panel" })

command("OpenHandsLog", function()
  oh().open_log()
end, { nargs = 0, desc = "OpenHands: the server's log messages" })

command("OpenHandsTranscript", function(o)
  oh().transcript(o.args)
end, { nargs = "?", desc = "OpenHands: open the conversation's Markdown transcript" })

command("OpenHandsChanges", function(o)
  oh().changes(o.args)
end, { nargs = "?", desc = "OpenHands: the files the task changed, to diff, keep or revert" })
