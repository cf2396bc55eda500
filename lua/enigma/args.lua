--- enigma.args: what every command line written in Lua shares -- `--opt=value` is `--opt value`.
local args = {}

--- A new list of argv's strings with each "--opt=value" split into "--opt" and "value"; from a
--- "--" on, arguments are taken as they are.
function args.split(argv)
  local out, literal = {}, false
  for _, a in ipairs(argv) do
    local name, value
    if not literal then name, value = a:match("^(%-%-[^=]+)=(.*)$") end
    if a == "--" then literal = true end
    if name then
      out[#out + 1] = name
      out[#out + 1] = value
    else
      out[#out + 1] = a
    end
  end
  return out
end

return args
