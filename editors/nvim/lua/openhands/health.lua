-- Why this file exists: `:checkhealth openhands` on Neovim 0.7 (health#report_*), 0.8-0.9 (vim.health.report_*)
-- and 0.10+ (vim.health.start/ok/...): the binary, its version, the LLM settings and the runtime, each with the fix.
local M = {}

local function reporter()
  local h = vim.health
  if h and h.start then
    return h
  end
  if h and h.report_start then
    return { start = h.report_start, ok = h.report_ok, info = h.report_info, warn = h.report_warn, error = h.report_error }
  end
  local function fn(name)
    return function(msg, advice)
      if advice then
        vim.fn["health#report_" .. name](msg, advice)
      else
        vim.fn["health#report_" .. name](msg)
      end
    end
  end
  return { start = fn("start"), ok = fn("ok"), info = fn("info"), warn = fn("warn"), error = fn("error") }
end

--- Runs `cmd` with `env` added in `cwd`; returns its output lines and exit code (nil when it did not run or
--- took over 30 s).
local function run(cmd, env, cwd)
  local out = {}
  local ok, job = pcall(vim.fn.jobstart, cmd, {
    cwd = cwd,
    env = env,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      vim.list_extend(out, data or {})
    end,
    on_stderr = function(_, data)
      vim.list_extend(out, data or {})
    end,
  })
  if not ok or job <= 0 then
    return {}, nil
  end
  local code = vim.fn.jobwait({ job }, 30000)[1]
  if code == -1 then
    vim.fn.jobstop(job)
    return out, nil
  end
  local lines = {}
  for _, l in ipairs(out) do
    if l ~= "" then
      lines[#lines + 1] = l
    end
  end
  return lines, code
end

local function env_or(env, name)
  if env and env[name] then
    return env[name]
  end
  local v = vim.env[name]
  return v ~= "" and v or nil
end

--- The first `key = "value"` of the `[llm]` table of a config.toml (a plain reading, enough for a health check).
local function toml_llm(path, key)
  if vim.fn.filereadable(path) ~= 1 then
    return nil
  end
  local section = nil
  for _, line in ipairs(vim.fn.readfile(path)) do
    local s = line:match("^%s*%[([^%]]+)%]")
    if s then
      section = s
    elseif section == "llm" then
      local v = line:match("^%s*" .. key .. "%s*=%s*\"([^\"]*)\"")
      if v then
        return v
      end
    end
  end
  return nil
end

function M.check()
  local h = reporter()
  local oh = require("openhands")
  local cfg = oh.config() or vim.tbl_deep_extend("force", vim.deepcopy(oh.defaults), {})
  local cmd = type(cfg.cmd) == "string" and { cfg.cmd } or cfg.cmd
  local root = cfg.root_dir or vim.fn.getcwd()

  h.start("openhands: the server")
  local v = vim.version()
  h.info(("Neovim %d.%d.%d"):format(v.major, v.minor, v.patch))
  local exe = vim.fn.exepath(cmd[1])
  if exe == "" then
    h.error(("`%s` was not found or is not executable"):format(cmd[1]), {
      "Build it: cargo build --release --workspace (in the openhands-lsp checkout) and put target/release on PATH",
      "Or point the plugin at it: require('openhands').setup{ cmd = { '/path/to/openhands-lsp' } }",
    })
    return
  end
  h.ok("binary: " .. exe)
  local version, code = run({ exe, "--version" }, cfg.env, root)
  if code == 0 and version[1] then
    h.ok("version: " .. version[1])
  else
    h.error("`" .. exe .. " --version` failed: " .. table.concat(version, " "), { "Reinstall openhands-lsp" })
  end

  local running = require("openhands.client").get()
  if running then
    h.ok(("the server runs (client %d) for %s"):format(running.id, root))
  else
    local why = require("openhands.client").error()
    if why then
      h.error(why)
    else
      h.info("the server is not running yet (setup{} starts it; :OpenHands starts it on first use)")
    end
  end

  -- `openhands-lsp doctor` checks everything the server needs, with the fix for each; older servers lack it.
  -- It gets what setup() gives the server: the workspace, profile, model, and the LLM's URL (as the variable).
  local args = vim.list_extend(vim.deepcopy(cmd), { "doctor", "--workspace", root })
  if cfg.llm then
    vim.list_extend(args, { "--llm", cfg.llm })
  end
  if cfg.model then
    vim.list_extend(args, { "--model", cfg.model })
  end
  local env = vim.tbl_extend("force", {}, cfg.env or {})
  if cfg.base_url then
    env.LLM_BASE_URL = cfg.base_url
  end
  local doctor, doctor_code = run(args, next(env) and env or nil, root)
  local unknown = doctor_code ~= 0 and table.concat(doctor, "\n"):find("unrecognized subcommand", 1, true)
  if doctor_code ~= nil and not unknown then
    h.start("openhands: openhands-lsp doctor")
    -- Lines are `ok|warn|FAIL name: detail`, a problem followed by `     fix: ...`.
    local checks = {}
    for _, line in ipairs(doctor) do
      local fix = line:match("^%s+fix:%s*(.*)$")
      local tag, rest = line:match("^(%S+)%s+(.*)$")
      if fix and #checks > 0 then
        checks[#checks].fix = fix
      else
        checks[#checks + 1] = { tag = tag, text = rest or line }
      end
    end
    for _, c in ipairs(checks) do
      if c.tag == "ok" then
        h.ok(c.text)
      elseif c.tag == "warn" then
        h.warn(c.text, c.fix and { c.fix } or nil)
      elseif c.tag == "FAIL" then
        h.error(c.text, c.fix and { c.fix } or nil)
      else
        h.info(c.text)
      end
    end
    if doctor_code ~= 0 then
      h.error("openhands-lsp doctor: a check failed (exit " .. doctor_code .. "); each FAIL above says how to fix it")
    end
    return
  end

  h.start("openhands: LLM settings")
  local config_home = env_or(cfg.env, "XDG_CONFIG_HOME") or (vim.env.HOME .. "/.config")
  local files = { config_home .. "/openhands-lsp/config.toml", root .. "/.openhands/config.toml" }
  local model = cfg.model or env_or(cfg.env, "LLM_MODEL")
  local where = cfg.model and "setup{ model }" or (model and "LLM_MODEL")
  for _, f in ipairs(files) do
    local m = toml_llm(f, "model")
    if m and not model then
      model, where = m, f
    end
  end
  if model then
    h.ok("model: " .. model .. " (from " .. where .. ")")
  elseif cfg.llm then
    h.info("profile [llm." .. cfg.llm .. "] (not read here; openhands-lsp reports it when a task starts)")
  else
    h.error("no model is set", {
      "Set LLM_MODEL, or model in setup{}, or [llm] model = \"...\" in " .. files[1],
    })
  end
  local key = env_or(cfg.env, "LLM_API_KEY")
  for _, f in ipairs(files) do
    key = key or toml_llm(f, "api_key")
  end
  if key then
    h.ok("an API key is set")
  else
    h.warn("no API key (LLM_API_KEY or [llm] api_key): fine for a local model server, needed for hosted ones")
  end
  local base = cfg.base_url or env_or(cfg.env, "LLM_BASE_URL")
  if base then
    h.info("LLM URL: " .. base)
  end

  h.start("openhands: runtime")
  local kind = cfg.runtime or "local"
  if kind == "local" then
    local bin = env_or(cfg.env, "OPENHANDS_RUNTIME_BIN")
    local beside = vim.fn.fnamemodify(exe, ":p:h") .. "/openhands-runtime"
    local found = (bin and vim.fn.executable(bin) == 1 and bin)
      or (vim.fn.executable(beside) == 1 and beside)
      or (vim.fn.exepath("openhands-runtime") ~= "" and vim.fn.exepath("openhands-runtime"))
    if found then
      h.ok("local runtime: " .. found)
    else
      h.error("the local runtime `openhands-runtime` was not found (beside openhands-lsp, on PATH or OPENHANDS_RUNTIME_BIN)", {
        "Build it: cargo build --release -p openhands-runtime (it belongs beside openhands-lsp)",
      })
    end
  else
    h.info("runtime: " .. kind .. (cfg.runtime_url and (" at " .. cfg.runtime_url) or ""))
  end
end

return M
