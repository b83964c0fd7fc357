# The Oz seed document's curl example, verbatim but for the URL (set by the test to the server
# under test; the explicit `Host: host_address` header is kept).
curl -X POST \
  https://host_address/api/authorize/auth \
  -H 'Accept: */*' \
  -H 'Accept-Encoding: gzip, deflate' \
  -H 'Cache-Control: no-cache' \
  -H 'Connection: keep-alive' \
  -H 'Content-Length: 91' \
  -H 'Content-Type: application/json' \
  -H 'Host: host_address' \
  -H 'Postman-Token: postman_token' \
  -H 'User-Agent: PostmanRuntime/7.15.2' \
  -H 'cache-control: no-cache' \
  -d '{
  "credentials": {
    "email": "user_email",
    "password": "user_password"
  }
}'
