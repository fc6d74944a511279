"""Drives the Pterodactyl-compatible client API with pydactyl, as a Discord bot or a
billing module would: list servers, read resources, start the server, send a command,
write, read and list files, read the startup variables and allocations, take a backup
and list it, rename the server, stop it. Prints one line per step; exits non-zero on the
first step that does not do what Pterodactyl would do.

Usage: pydactyl_client.py PANEL_URL CLIENT_KEY SERVER_IDENTIFIER
"""
import sys
import time

from pydactyl import PterodactylClient


def main():
    url, key, identifier = sys.argv[1:4]
    api = PterodactylClient(url, key)

    pages = api.client.servers.list_servers()
    found = [s["attributes"]["identifier"] for page in pages for s in page.data]
    assert identifier in found, f"{identifier} not in the server list {found}"
    print("listed", len(found), "servers")

    server = api.client.servers.get_server(identifier)
    assert server["identifier"] == identifier, server
    print("server", server["name"])

    api.client.servers.send_power_action(identifier, "start")
    deadline = time.time() + 30
    while True:
        state = api.client.servers.get_server_utilization(identifier)["current_state"]
        if state == "running":
            break
        assert time.time() < deadline, f"not running after 30 s: {state}"
        time.sleep(0.2)
    print("running")

    api.client.servers.send_console_command(identifier, "say hello from pydactyl")
    print("command sent")

    api.client.servers.files.write_file(identifier, "/pydactyl.txt", "written by pydactyl\n")
    text = api.client.servers.files.get_file_contents(identifier, "/pydactyl.txt", json=False).text
    assert text == "written by pydactyl\n", repr(text)
    names = [f["attributes"]["name"] for f in api.client.servers.files.list_files(identifier, "/")["data"]]
    assert "pydactyl.txt" in names, names
    print("files", sorted(names))

    variables = api.client.servers.startup.list_variables(identifier)
    envs = [v["attributes"]["env_variable"] for v in variables["data"]]
    assert "STARTUP_DELAY_MS" in envs, variables
    assert "cap-testgame" in variables["meta"]["startup_command"], variables["meta"]
    print("startup", envs)

    allocations = api.client.servers.network.list_allocations(identifier)["data"]
    assert [a["attributes"]["is_default"] for a in allocations] == [True], allocations
    print("allocations", [a["attributes"]["port"] for a in allocations])

    backup = api.client.servers.backups.create_backup(identifier)
    uuid = backup["attributes"]["uuid"]
    deadline = time.time() + 30
    while not api.client.servers.backups.get_backup_detail(identifier, uuid)["attributes"]["is_successful"]:
        assert time.time() < deadline, "backup not done after 30 s"
        time.sleep(0.2)
    listed = api.client.servers.backups.list_backups(identifier)
    assert [b["attributes"]["uuid"] for b in listed["data"]] == [uuid], listed
    print("backups", listed["meta"]["backup_count"])

    api.client.servers.settings.rename_server(identifier, "renamed by pydactyl")
    assert api.client.servers.get_server(identifier)["name"] == "renamed by pydactyl"
    print("renamed")

    api.client.servers.send_power_action(identifier, "stop")
    print("stopped")


if __name__ == "__main__":
    main()
