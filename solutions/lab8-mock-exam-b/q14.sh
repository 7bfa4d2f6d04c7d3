kubectl patch service inventory --type=json -p '[{"op":"remove","path":"/spec/selector/version"}]'
