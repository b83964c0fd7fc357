-- ARGV[3] family. Returns how many records were live.
return revoke_family(ARGV[3])
