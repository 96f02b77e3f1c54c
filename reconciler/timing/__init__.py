"""Time: cron with cronie's semantics, which slot is due (decisions), the fire times `next` prints, and
which zone names a schedule may use, all pure with `now` as an argument; plus the host's own zone
(hostzone, read from /etc), which importing troubleshoot's jobs needs."""
