-- expect: forbidden ban-delete
dElEtE fRoM "Users" wHeRe "Id" = 1;
