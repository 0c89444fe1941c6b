-- OpenHands (`openhands-lsp acp`) as an ACP adapter of codecompanion.nvim: put this in your Neovim config.
-- Tried by hand with CodeCompanion f1afd025 (2026-12) in Neovim 0.11; the test suite cannot install it.
local helpers = require("codecompanion.adapters.acp.helpers")

local openhands = {
  name = "openhands",
  formatted_name = "OpenHands",
  type = "acp",
  roles = { llm = "assistant", user = "user" },
  opts = { vision = false },
  commands = { default = { "openhands-lsp", "acp" } },
  defaults = { mcpServers = {}, timeout = 20000 },
  parameters = {
    protocolVersion = 1,
    clientCapabilities = { fs = { readTextFile = true, writeTextFile = true } },
    clientInfo = { name = "CodeCompanion.nvim", version = "1.0.0" },
  },
  handlers = {
    setup = function() return true end,
    -- OpenHands needs no ACP authentication: the model's key comes from its own configuration.
    auth = function() return true end,
    form_messages = function(self, messages, capabilities)
      return helpers.form_messages(self, messages, capabilities)
    end,
    on_exit = function() end,
  },
}

require("codecompanion").setup({
  adapters = { acp = { openhands = function() return openhands end } },
  interactions = { chat = { adapter = "openhands" } },
})
