kubectl patch service orders --type=json -p '[{"op":"remove","path":"/spec/selector/version"}]'
