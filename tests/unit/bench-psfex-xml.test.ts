// The processCcd benchmark's count of the PSF stars psfex accepted, read from psfex's XML check file (a
// VOTable whose PSF_Fields table lists its FIELDs, then rows of TD cells in that order): a VOTable laid
// out as psfex 3.21 writes it, where the first integer cell of the row is NExtensions, not the count
// (the earlier parse read 1 there, for 340 stars).
import { describe, expect, it } from 'vitest';
import { psfexAcceptedStars } from '../../bench/processCcd.js';

const names = ['Catalog_Name', 'Image_Ident', 'NExtensions', 'NStars_Loaded_Total', 'NStars_Loaded_Min', 'NStars_Loaded_Mean', 'NStars_Loaded_Max',
  'NStars_Accepted_Total', 'NStars_Accepted_Min', 'FWHM_Mean'];
const cells = ['ldac.cat', 'SIMFIELD', '1', '345', '345', '345', '345', '340', '340', '4.21'];
const xml = `<?xml version="1.0"?>
<VOTABLE><RESOURCE ID="PSFEx" name="PSFEx">
  <TABLE ID="PSF_Fields" name="PSF_Fields">
${names.map((n) => `   <FIELD name="${n}" datatype="int" ucd="meta.number"/>`).join('\n')}
   <DATA><TABLEDATA>
    <TR>
     ${cells.map((c) => `<TD>${c}</TD>`).join('')}
    </TR>
   </TABLEDATA></DATA>
  </TABLE>
  <TABLE ID="Warnings" name="Warnings"><FIELD name="NStars_Accepted_Total" datatype="int"/><DATA><TABLEDATA><TR><TD>7</TD></TR></TABLEDATA></DATA></TABLE>
</RESOURCE></VOTABLE>`;

describe('psfexAcceptedStars', () => {
  it('reads NStars_Accepted_Total from the PSF_Fields row by its field position', () => {
    expect(psfexAcceptedStars(xml)).toBe(340);
  });

  it('gives undefined without the table, the field or a number in its cell', () => {
    expect(psfexAcceptedStars('')).toBeUndefined();
    expect(psfexAcceptedStars(xml.replace('ID="PSF_Fields"', 'ID="Other"'))).toBeUndefined();
    expect(psfexAcceptedStars(xml.replace('name="NStars_Accepted_Total" datatype="int" ucd', 'name="Renamed" datatype="int" ucd'))).toBeUndefined();
    expect(psfexAcceptedStars(xml.replace('<TD>340</TD>', '<TD>n/a</TD>'))).toBeUndefined();
  });
});
