# The Oz seed document's Python example, verbatim but for the URL (set by the test to the server
# under test; the explicit `Host: host_address` header is kept).
import requests

url = "https://host_address/api/authorize/auth"

payload = "{\n\t\"credentials\": {\n\t\t\"email\": \"user_email\",\n\t\t\"password\": \"user_password\"\n\t}\n}"
headers = {
    'Content-Type': "application/json",
    'User-Agent': "PostmanRuntime/7.15.2",
    'Accept': "*/*",
    'Cache-Control': "no-cache",
    'Postman-Token': "postman_token",
    'Host': "host_address",
    'Accept-Encoding': "gzip, deflate",
    'Content-Length': "91",
    'Connection': "keep-alive",
    'cache-control': "no-cache"
    }

response = requests.request("POST", url, data=payload, headers=headers)

print(response.text)
